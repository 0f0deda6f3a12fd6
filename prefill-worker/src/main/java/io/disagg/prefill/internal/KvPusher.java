package io.disagg.prefill.internal;

import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.ModelFingerprint;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Sends prefilled KV caches to decode workers: the seam between the prefill engine and the kv-transfer client.
 * Targets are {@code host:port} or {@code unix:/path}; a malformed one fails the push with INVALID_ARGUMENT.
 */
public interface KvPusher extends AutoCloseable {

  /** What one completed push moved and how long it took, from the call to the receiver's ack. */
  record PushResult(long bytes, Duration elapsed) {}

  /**
   * Pushes a finished cache into reservation {@code reservationId}. The export's segments are read until
   * {@link PushHandle#released()} completes; the caller keeps the sequence open until then.
   */
  PushHandle push(String target, String reservationId, KvExport export);

  /**
   * Starts a layer-by-layer push: the header goes out now (the receiver checks it while prefill still runs), each
   * layer when {@link PushHandle#layerComplete} reports it, the trailer on {@link PushHandle#finish()}.
   *
   * @param blocks the sequence's block segments holding {@code tokens}, in cache order; read until released
   */
  PushHandle open(String target, String reservationId, String requestId, ModelFingerprint fingerprint, int[] tokens,
      List<MemorySegment> blocks);

  /** An in-flight push. */
  interface PushHandle {
    /** Reports a layer final (incremental pushes only; in order, never blocks). */
    void layerComplete(int layer);

    /** Declares an incremental push complete; a whole-cache push needs no call. */
    void finish();

    /** Completes with the receiver's ack, or fails (KvTransferException or a gRPC status exception). */
    CompletableFuture<PushResult> result();

    /** Completes once the transport no longer reads the source blocks. */
    CompletableFuture<Void> released();

    /** Abandons the push; the receiver releases what it reserved. Idempotent. */
    void cancel(String reason);
  }

  @Override
  void close();
}
