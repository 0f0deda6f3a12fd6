package io.disagg.kv;

import io.disagg.backend.spi.PrefillListener;
import io.disagg.proto.v1.KvTransferHeader;
import java.util.concurrent.CompletableFuture;

/**
 * An incremental push: the header goes out at once (so the receiver reserves its blocks while prefill still runs),
 * and each layer's slice of every block is sent as soon as prefill reports the layer complete. The receiver exposes
 * the cache only after {@link #finish()}'s trailer verifies. Obtain one from {@link KvTransferClient#openSession}.
 *
 * <p>Thread-safe; {@link #layerComplete} never blocks, so it can be called from {@link PrefillListener}.
 */
public interface KvSendSession {

  KvTransferHeader header();

  /**
   * Every block's slice of {@code layer} is final and may be sent. Call once per layer, in order
   * {@code 0, 1, ..., layers - 1}. Does nothing once the transfer has failed or been cancelled.
   *
   * @throws IllegalArgumentException if {@code layer} is not the next layer expected
   */
  void layerComplete(int layer);

  /**
   * Declares the cache complete: the trailer (CRC32C) follows the last layer's bytes.
   *
   * @return {@link #result()}
   * @throws IllegalStateException if not every layer was reported complete
   */
  CompletableFuture<TransferResult> finish();

  /**
   * Completes with the receiver's ack, or fails with a {@link KvTransferException}. Cancelling it cancels the
   * transfer on both sides, as {@link #cancel} does. Dependent actions may run on a network thread: use the
   * {@code *Async} variants for anything slow.
   */
  CompletableFuture<TransferResult> result();

  /**
   * Abandons the transfer: the receiver is told (CANCEL frame, then the connection closes) and releases its blocks;
   * {@link #result()} fails with {@link KvTransferException.Reason#CANCELLED}. Idempotent.
   */
  void cancel(String reason);

  /**
   * Completes when the receiver has accepted the header, i.e. holds the destination blocks; fails as
   * {@link #result()} does if the transfer fails first.
   */
  CompletableFuture<Void> accepted();

  /**
   * Completes once the transport no longer reads the source blocks (always, after {@link #result()} settles; a
   * cancel may leave a write in flight for a moment). Free the source memory only after this.
   */
  CompletableFuture<Void> released();

  /** A {@link PrefillListener} that reports layers to this session. */
  default PrefillListener asPrefillListener() {
    return (sequence, layer) -> layerComplete(layer);
  }
}
