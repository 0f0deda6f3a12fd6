package io.disagg.kv.internal;

import io.disagg.kv.KvAddress;
import io.disagg.kv.KvTransferException;
import io.disagg.kv.KvTransferException.Reason;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * Authenticated connections per peer, reused across transfers so only the first pays for the handshake. Each
 * connection carries one transfer at a time; at most {@code maxPerAddress} are open to a peer and at most
 * {@code maxPending} transfers wait for one; beyond that a transfer fails fast with {@link Reason#BUSY}. Idle
 * connections close themselves after the idle timeout (see {@link ClientHandler}) and leave the pool. Thread-safe:
 * state changes under this object's lock, futures complete outside it.
 */
public final class ConnectionPool {
  private final Function<KvAddress, CompletableFuture<ClientHandler>> connector;
  private final int maxPerAddress;
  private final int maxPending;
  private final Map<KvAddress, PerAddress> peers = new HashMap<>();
  private boolean closed;

  /**
   * @param connector opens and authenticates a new connection; the returned handler must call
   *     {@link #closed(ClientHandler)} when its channel closes
   */
  public ConnectionPool(
      Function<KvAddress, CompletableFuture<ClientHandler>> connector, int maxPerAddress, int maxPending) {
    this.connector = connector;
    this.maxPerAddress = maxPerAddress;
    this.maxPending = maxPending;
  }

  private static final class PerAddress {
    final ArrayDeque<ClientHandler> idle = new ArrayDeque<>();
    final ArrayDeque<SendTask> waiting = new ArrayDeque<>();
    int open;
  }

  /** Runs {@code task} on an idle connection, a new one, or the next one freed; fails it if none can be had. */
  public void submit(SendTask task) {
    ClientHandler idle = null;
    boolean connect = false;
    KvTransferException error = null;
    synchronized (this) {
      if (closed) {
        error = new KvTransferException(Reason.CLOSED, "client closed");
      } else {
        PerAddress p = peers.computeIfAbsent(task.target, k -> new PerAddress());
        while ((idle = p.idle.pollFirst()) != null && !idle.isUsableFromAnyThread()) {
          // A connection whose channel died after it was parked; its close callback takes it off the books.
        }
        if (idle == null) {
          if (p.waiting.size() >= maxPending) {
            error = new KvTransferException(Reason.BUSY, maxPending + " transfers already wait for a connection to "
                + task.target);
          } else {
            p.waiting.addLast(task);
            if (p.open < maxPerAddress) {
              p.open++;
              connect = true;
            }
          }
        }
      }
    }
    if (error != null) {
      task.fail(error);
    } else if (idle != null) {
      ClientHandler h = idle;
      h.executor().execute(() -> runOrPark(h, task));
    } else if (connect) {
      openConnection(task.target);
    }
  }

  private void runOrPark(ClientHandler h, SendTask task) {
    if (h.isUsable()) {
      h.start(task);
    } else {
      // Died between being taken from the pool and running: try again elsewhere.
      submit(task);
    }
  }

  private void openConnection(KvAddress target) {
    CompletableFuture<ClientHandler> connected;
    try {
      connected = connector.apply(target);
    } catch (RuntimeException e) {
      connected = CompletableFuture.failedFuture(e);
    }
    connected.whenComplete((h, e) -> {
      if (e == null) {
        release(h, true);
        return;
      }
      SendTask first;
      synchronized (this) {
        PerAddress p = peers.get(target);
        p.open--;
        first = p.waiting.pollFirst();
      }
      if (first != null) {
        Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
            ? e.getCause() : e;
        first.fail(cause instanceof KvTransferException k ? k
            : new KvTransferException(Reason.CONNECT_FAILED, "cannot connect to " + target + ": " + cause, cause));
      }
    });
  }

  /**
   * Takes back a connection after a transfer. A reusable one goes to the next waiting transfer or to the idle list;
   * any other is closed. Call on the connection's event loop.
   */
  public void release(ClientHandler h, boolean reusable) {
    if (!reusable || !h.isUsable()) {
      h.close();
      return;
    }
    SendTask next;
    synchronized (this) {
      PerAddress p = peers.get(h.address());
      if (closed || p == null) {
        next = null;
      } else {
        next = p.waiting.pollFirst();
        if (next == null) {
          p.idle.addLast(h);
          return;
        }
      }
    }
    if (next == null) {
      h.close();
      return;
    }
    SendTask t = next;
    h.executor().execute(() -> runOrPark(h, t));
  }

  /** A connection closed: forget it, and open a replacement if transfers are waiting. */
  public void closed(ClientHandler h) {
    boolean connect = false;
    synchronized (this) {
      PerAddress p = peers.get(h.address());
      if (p == null) {
        return;
      }
      p.idle.remove(h);
      p.open--;
      if (!closed && !p.waiting.isEmpty() && p.open < maxPerAddress) {
        p.open++;
        connect = true;
      }
    }
    if (connect) {
      openConnection(h.address());
    }
  }

  /** Fails waiting transfers and closes idle connections; busy ones close when their transfer ends. */
  public void close() {
    List<SendTask> waiting = new ArrayList<>();
    List<ClientHandler> idle = new ArrayList<>();
    synchronized (this) {
      closed = true;
      for (PerAddress p : peers.values()) {
        waiting.addAll(p.waiting);
        p.waiting.clear();
        idle.addAll(p.idle);
        p.idle.clear();
      }
    }
    KvTransferException error = new KvTransferException(Reason.CLOSED, "client closed");
    waiting.forEach(t -> t.fail(error));
    idle.forEach(ClientHandler::close);
  }

  /** For tests: connections open to {@code target}. */
  public synchronized int openConnections(KvAddress target) {
    PerAddress p = peers.get(target);
    return p == null ? 0 : p.open;
  }
}
