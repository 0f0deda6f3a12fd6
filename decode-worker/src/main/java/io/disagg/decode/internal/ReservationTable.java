package io.disagg.decode.internal;

import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvReservation;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * KV reservations granted by ReserveKv and not yet adopted by a Decode. A reservation lives here while the transport
 * fills it; a Decode then claims it and, once the transfer completed, takes the blocks over. A reservation nobody
 * claims expires after the configured time (measured on the injected clock) and its blocks go back to the pool;
 * expiry is checked by {@link #expire()}, which the server calls periodically and on every ReserveKv and Health.
 *
 * <p>Thread-safe: gRPC threads reserve, claim and release; transport threads fill.
 */
public final class ReservationTable {
  private final KvBlockPool pool;
  private final Clock clock;
  private final Duration timeout;
  private final Supplier<String> ids;
  private final Runnable onBlocksFreed;
  private final Map<String, Entry> entries = new HashMap<>();
  private final java.util.concurrent.atomic.AtomicLong granted = new java.util.concurrent.atomic.AtomicLong();

  /** A filled reservation handed to a Decode; the receiver owns (and must close) {@code reservation}. */
  public record Claimed(KvReservation reservation, KvImport kvImport) {}

  private static final class Entry {
    final String id;
    final String requestId;
    final KvReservation reservation;
    final Instant expiresAt;
    final CompletableFuture<Claimed> filled = new CompletableFuture<>();
    KvImport kvImport;
    boolean claimed;
    boolean transferring;
    boolean dead;

    Entry(String id, String requestId, KvReservation reservation, Instant expiresAt) {
      this.id = id;
      this.requestId = requestId;
      this.reservation = reservation;
      this.expiresAt = expiresAt;
    }
  }

  /**
   * @param onBlocksFreed run after a reservation's blocks went back to the pool (wakes a decode engine waiting for
   *     room)
   */
  public ReservationTable(KvBlockPool pool, Clock clock, Duration timeout, Runnable onBlocksFreed) {
    this(pool, clock, timeout, onBlocksFreed, () -> UUID.randomUUID().toString());
  }

  ReservationTable(KvBlockPool pool, Clock clock, Duration timeout, Runnable onBlocksFreed, Supplier<String> ids) {
    this.pool = pool;
    this.clock = clock;
    this.timeout = timeout;
    this.onBlocksFreed = onBlocksFreed;
    this.ids = ids;
  }

  /**
   * Reserves {@code blocks} blocks for {@code requestId}.
   *
   * @throws io.disagg.backend.spi.KvPoolExhaustedException when the pool lacks room; nothing is reserved then
   */
  public String reserve(String requestId, int blocks) {
    KvReservation reservation = pool.reserve(blocks);
    String id = ids.get();
    synchronized (this) {
      entries.put(id, new Entry(id, requestId, reservation, clock.instant().plus(timeout)));
    }
    granted.incrementAndGet();
    return id;
  }

  /** The reservation's blocks for the transport to write into, or null when it is unknown, expired or busy. */
  public synchronized KvReservation beginTransfer(String id) {
    Entry e = entries.get(id);
    if (e == null || e.transferring || e.kvImport != null || e.dead) {
      return null;
    }
    e.transferring = true;
    return e.reservation;
  }

  /** The transport wrote every block; a waiting Decode (or the next to claim) gets them. */
  public void completeTransfer(String id, KvImport kvImport) {
    Entry handOff = null;
    boolean freed = false;
    synchronized (this) {
      Entry e = entries.get(id);
      if (e == null) {
        return;
      }
      e.transferring = false;
      if (e.dead) {
        entries.remove(id);
        e.reservation.close();
        freed = true;
      } else {
        e.kvImport = kvImport;
        if (e.claimed) {
          entries.remove(id);
          handOff = e;
        }
      }
    }
    if (handOff != null) {
      handOff.filled.complete(new Claimed(handOff.reservation, handOff.kvImport));
    }
    if (freed) {
      onBlocksFreed.run();
    }
  }

  /** The transfer broke off: the blocks hold partial data, so the reservation is released. */
  public void failTransfer(String id, Status status) {
    synchronized (this) {
      Entry e = entries.get(id);
      if (e != null) {
        e.transferring = false;
      }
    }
    kill(id, status.augmentDescription("KV transfer into reservation " + id + " failed"));
  }

  /**
   * A Decode for the reservation arrived. The future completes once the cache is in place (at once if it already
   * is), or fails with FAILED_PRECONDITION when the reservation is unknown, already claimed, expires or is released.
   */
  public CompletableFuture<Claimed> claim(String id) {
    Entry handOff;
    synchronized (this) {
      Entry e = entries.get(id);
      if (e == null || e.dead) {
        return CompletableFuture.failedFuture(Status.FAILED_PRECONDITION
            .withDescription("reservation_id: " + id + " (unknown, expired or released)").asRuntimeException());
      }
      if (e.claimed) {
        return CompletableFuture.failedFuture(Status.FAILED_PRECONDITION
            .withDescription("reservation_id: " + id + " (already claimed by another Decode)").asRuntimeException());
      }
      e.claimed = true;
      if (e.kvImport == null) {
        return e.filled;
      }
      entries.remove(id);
      handOff = e;
    }
    handOff.filled.complete(new Claimed(handOff.reservation, handOff.kvImport));
    return handOff.filled;
  }

  /** Releases a reservation that will not be used; false when unknown (already used, released or expired). */
  public boolean release(String id) {
    return kill(id, Status.CANCELLED.withDescription("reservation " + id + " was released"));
  }

  /** Releases every reservation whose time is up; returns how many. */
  public int expire() {
    Instant now = clock.instant();
    List<String> expired = new ArrayList<>();
    synchronized (this) {
      for (Entry e : entries.values()) {
        if (!e.dead && !e.transferring && !now.isBefore(e.expiresAt)) {
          expired.add(e.id);
        }
      }
    }
    for (String id : expired) {
      kill(id, Status.FAILED_PRECONDITION.withDescription(
          "reservation " + id + " expired after " + timeout.toMillis() + " ms before its KV cache was adopted"));
    }
    return expired.size();
  }

  /** Reservations granted since start. */
  public long granted() {
    return granted.get();
  }

  /** Reservations granted and not yet adopted. */
  public synchronized int size() {
    return entries.size();
  }

  /** Decodes that claimed a reservation whose cache has not arrived yet. */
  public synchronized int awaitingTransfer() {
    int n = 0;
    for (Entry e : entries.values()) {
      if (e.claimed && !e.dead) {
        n++;
      }
    }
    return n;
  }

  /** Blocks held by reservations not yet adopted. */
  public synchronized int reservedBlocks() {
    int n = 0;
    for (Entry e : entries.values()) {
      n += e.reservation.blocks().size();
    }
    return n;
  }

  private boolean kill(String id, Status status) {
    Entry e;
    boolean freed = false;
    synchronized (this) {
      e = entries.get(id);
      if (e == null || e.dead) {
        return false;
      }
      e.dead = true;
      // while the transport writes, the blocks stay out of the pool; completeTransfer frees them
      if (!e.transferring) {
        entries.remove(id);
        e.reservation.close();
        freed = true;
      }
    }
    e.filled.completeExceptionally(status.asRuntimeException());
    if (freed) {
      onBlocksFreed.run();
    }
    return true;
  }

  /** Releases everything (shutdown). */
  public void closeAll() {
    List<String> all;
    synchronized (this) {
      all = new ArrayList<>(entries.keySet());
    }
    all.forEach(id -> kill(id, Status.UNAVAILABLE.withDescription("decode worker is shutting down")));
  }
}
