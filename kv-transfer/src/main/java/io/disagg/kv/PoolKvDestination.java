package io.disagg.kv;

import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvPoolExhaustedException;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.kv.KvTransferException.Reason;
import io.disagg.proto.v1.KvTransferHeader;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link KvDestination} backed by a {@link KvBlockPool} and the decode model's {@link ModelFingerprint}.
 *
 * <ul>
 *   <li>A header whose {@code reservation_id} is set fills the reservation {@linkplain #register registered} under
 *       that id (granted earlier, e.g. by a ReserveKv RPC); an empty id reserves fresh blocks from the pool, and a
 *       full pool rejects with {@link Reason#NO_ROOM} before any payload flows.
 *   <li>Completed transfers are handed to {@link #await(String)}: a future per request id, which a consumer may ask
 *       for before or after the transfer completes.
 * </ul>
 *
 * <p>Memory stays bounded: a completed transfer nobody has awaited yet holds its blocks (so the pool bounds their
 * number); failures nobody awaited are remembered for the last {@code maxRememberedFailures} request ids only.
 * Thread-safe.
 */
public final class PoolKvDestination implements KvDestination {
  private final KvBlockPool pool;
  private final ModelFingerprint fingerprint;
  /** {@link ModelFingerprint#value()} builds a string per call; a header is checked against it per transfer. */
  private final String fingerprintValue;
  private final int maxRememberedFailures;
  private final Map<String, KvReservation> reservations = new HashMap<>();
  private final Map<String, CompletableFuture<ReceivedKv>> waiting = new HashMap<>();
  private final Map<String, ReceivedKv> completed = new HashMap<>();
  private final LinkedHashMap<String, KvTransferException> failed = new LinkedHashMap<>();

  private PoolKvDestination(Builder b) {
    this.pool = b.pool;
    this.fingerprint = b.fingerprint;
    this.fingerprintValue = b.fingerprint.value();
    this.maxRememberedFailures = b.maxRememberedFailures;
  }

  public static Builder builder() {
    return new Builder();
  }

  public ModelFingerprint fingerprint() {
    return fingerprint;
  }

  /**
   * Registers a reservation granted ahead of a transfer. Ownership passes to this destination until a transfer
   * claims it or {@link #unregister} hands it back.
   *
   * @throws IllegalStateException if the id is taken
   */
  public void register(String reservationId, KvReservation reservation) {
    Objects.requireNonNull(reservationId, "reservationId");
    Objects.requireNonNull(reservation, "reservation");
    if (reservationId.isEmpty()) {
      throw new IllegalArgumentException("reservationId: empty (expected: a non-empty id)");
    }
    synchronized (this) {
      if (reservations.putIfAbsent(reservationId, reservation) != null) {
        throw new IllegalStateException("reservation id already registered: " + reservationId);
      }
    }
  }

  /** Removes a registered reservation no transfer has claimed; ownership returns to the caller. {@code null} if none. */
  public synchronized KvReservation unregister(String reservationId) {
    return reservations.remove(reservationId);
  }

  /**
   * The transfer for {@code requestId}, once complete and verified (or failed, with its
   * {@link KvTransferException}). The future's value owns its reservation. Cancelling the future before completion
   * withdraws interest: a transfer completing afterwards is released back to the pool.
   */
  public CompletableFuture<ReceivedKv> await(String requestId) {
    Objects.requireNonNull(requestId, "requestId");
    CompletableFuture<ReceivedKv> future;
    synchronized (this) {
      ReceivedKv done = completed.remove(requestId);
      if (done != null) {
        return CompletableFuture.completedFuture(done);
      }
      KvTransferException error = failed.remove(requestId);
      if (error != null) {
        return CompletableFuture.failedFuture(error);
      }
      future = waiting.computeIfAbsent(requestId, k -> new CompletableFuture<>());
    }
    future.whenComplete((v, e) -> {
      if (future.isCancelled()) {
        synchronized (this) {
          waiting.remove(requestId, future);
        }
      }
    });
    return future;
  }

  @Override
  public KvReservation reserve(KvTransferHeader header) {
    checkFingerprint(header);
    int blocks = header.getBlockCount();
    String id = header.getReservationId();
    if (!id.isEmpty()) {
      KvReservation r;
      synchronized (this) {
        r = reservations.remove(id);
      }
      if (r == null) {
        throw new KvTransferException(Reason.UNKNOWN_RESERVATION, "no reservation registered under id " + id);
      }
      if (r.blocks().size() != blocks) {
        r.close();
        throw new KvTransferException(Reason.INVALID_HEADER,
            "reservation " + id + " holds " + r.blocks().size() + " blocks, header says " + blocks);
      }
      return r;
    }
    try {
      return pool.reserve(blocks);
    } catch (KvPoolExhaustedException e) {
      throw new KvTransferException(Reason.NO_ROOM, e.getMessage(), e);
    } catch (IllegalStateException e) {
      throw new KvTransferException(Reason.CLOSED, "KV pool closed", e);
    }
  }

  private void checkFingerprint(KvTransferHeader h) {
    KvLayout l = fingerprint.layout();
    if (!fingerprintValue.equals(h.getModelFingerprint())) {
      throw new KvTransferException(Reason.FINGERPRINT_MISMATCH,
          "sender fingerprint " + h.getModelFingerprint() + ", receiver " + fingerprintValue);
    }
    if (h.getLayers() != l.layers() || h.getKvHeads() != l.kvHeads() || h.getHeadDim() != l.headDim()
        || h.getBlockTokens() != l.blockTokens() || h.getBlockBytes() != l.blockBytes()
        || !l.dtype().name().equals(dtypeName(h))) {
      throw new KvTransferException(Reason.FINGERPRINT_MISMATCH,
          "sender layout L" + h.getLayers() + ".H" + h.getKvHeads() + ".D" + h.getHeadDim() + "." + dtypeName(h)
              + ".B" + h.getBlockTokens() + " (" + h.getBlockBytes() + " bytes/block), receiver " + l.describe());
    }
  }

  private static String dtypeName(KvTransferHeader h) {
    return switch (h.getDtype()) {
      case KV_DTYPE_F32 -> "F32";
      case KV_DTYPE_F16 -> "F16";
      default -> h.getDtype().name();
    };
  }

  @Override
  public void onComplete(KvTransferHeader header, KvReservation filled) {
    ReceivedKv received = new ReceivedKv(header, fingerprint, filled);
    CompletableFuture<ReceivedKv> future;
    synchronized (this) {
      future = waiting.remove(header.getRequestId());
      if (future == null) {
        ReceivedKv previous = completed.put(header.getRequestId(), received);
        if (previous != null) {
          // A second cache for the same request supersedes the first, which nobody can reach any more.
          previous.reservation().close();
        }
        return;
      }
    }
    if (!future.complete(received)) {
      filled.close();
    }
  }

  @Override
  public void onFailure(KvTransferHeader header, KvTransferException error) {
    CompletableFuture<ReceivedKv> future;
    synchronized (this) {
      future = waiting.remove(header.getRequestId());
      if (future == null) {
        failed.remove(header.getRequestId());
        failed.put(header.getRequestId(), error);
        Iterator<String> oldest = failed.keySet().iterator();
        while (failed.size() > maxRememberedFailures) {
          oldest.next();
          oldest.remove();
        }
        return;
      }
    }
    future.completeExceptionally(error);
  }

  /** Closes every registered and every completed-but-unclaimed reservation, and fails pending awaits. */
  public void close() {
    Map<String, CompletableFuture<ReceivedKv>> pending;
    synchronized (this) {
      reservations.values().forEach(KvReservation::close);
      reservations.clear();
      completed.values().forEach(r -> r.reservation().close());
      completed.clear();
      pending = new HashMap<>(waiting);
      waiting.clear();
    }
    pending.values().forEach(f -> f.completeExceptionally(
        new KvTransferException(Reason.CLOSED, "destination closed")));
  }

  /** Builder for {@link PoolKvDestination}; validates eagerly. */
  public static final class Builder {
    private KvBlockPool pool;
    private ModelFingerprint fingerprint;
    private int maxRememberedFailures = 1024;

    private Builder() {}

    public Builder pool(KvBlockPool pool) {
      this.pool = Objects.requireNonNull(pool, "pool");
      return this;
    }

    public Builder fingerprint(ModelFingerprint fingerprint) {
      this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
      return this;
    }

    public Builder maxRememberedFailures(int max) {
      if (max < 0) {
        throw new IllegalArgumentException("maxRememberedFailures: " + max + " (expected: >= 0)");
      }
      this.maxRememberedFailures = max;
      return this;
    }

    public PoolKvDestination build() {
      if (pool == null) {
        throw new IllegalStateException("pool: not set (expected: the decode side's KvBlockPool)");
      }
      if (fingerprint == null) {
        throw new IllegalStateException("fingerprint: not set (expected: the decode model's fingerprint)");
      }
      if (!pool.layout().equals(fingerprint.layout())) {
        throw new IllegalStateException(
            "pool layout " + pool.layout().describe() + " != fingerprint layout " + fingerprint.layout().describe());
      }
      return new PoolKvDestination(this);
    }
  }
}
