package io.disagg.kv.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A TCP proxy that forwards client-to-server bytes faithfully until byte {@code faultAt}, where it either flips one
 * bit (on-wire corruption), drops both connections (a network cut), or stops reading from the client while keeping
 * both connections open (a receiver that stopped reading; the proxy's receive buffer is kept small so the client's
 * socket fills soon). Server-to-client bytes pass untouched. Each direction of each connection is pumped by its own
 * daemon thread, which ends when a socket closes.
 */
public final class FaultyProxy implements AutoCloseable {
  public enum Fault { FLIP_BIT, CUT, STALL }

  private final ServerSocket listener;
  private final InetSocketAddress target;
  private final long faultAt;
  private final Fault fault;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final CountDownLatch closed = new CountDownLatch(1);

  public FaultyProxy(InetSocketAddress target, long faultAt, Fault fault) throws IOException {
    this.target = target;
    this.faultAt = faultAt;
    this.fault = fault;
    this.listener = new ServerSocket();
    if (fault == Fault.STALL) {
      // Before bind, so accepted sockets get it (and a window scale to match) instead of autotuning to megabytes.
      listener.setReceiveBufferSize(64 * 1024);
    }
    listener.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
    Thread.ofPlatform().daemon().name("proxy-accept").start(this::acceptLoop);
  }

  public int port() {
    return listener.getLocalPort();
  }

  private void acceptLoop() {
    try {
      while (true) {
        Socket client = listener.accept();
        Socket server = new Socket(target.getAddress(), target.getPort());
        sockets.add(client);
        sockets.add(server);
        Thread.ofPlatform().daemon().start(() -> pump(client, server, true));
        Thread.ofPlatform().daemon().start(() -> pump(server, client, false));
      }
    } catch (IOException e) {
      // Listener closed.
    }
  }

  private void pump(Socket from, Socket to, boolean faulty) {
    byte[] buf = new byte[64 * 1024];
    long seen = 0;
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) > 0) {
        if (faulty && seen <= faultAt && faultAt < seen + n) {
          int at = (int) (faultAt - seen);
          if (fault == Fault.STALL) {
            out.write(buf, 0, at);
            out.flush();
            closed.await();
            return;
          }
          if (fault == Fault.CUT) {
            out.write(buf, 0, at);
            out.flush();
            from.close();
            to.close();
            return;
          }
          buf[at] ^= 0x10;
        }
        seen += n;
        out.write(buf, 0, n);
      }
    } catch (IOException e) {
      // One side closed; closing both ends the other pump too.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // Best effort.
    }
  }

  @Override
  public void close() throws IOException {
    closed.countDown();
    listener.close();
    sockets.forEach(FaultyProxy::closeQuietly);
  }
}
