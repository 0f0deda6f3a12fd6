package io.disagg.kv.internal;

import io.disagg.kv.KvAddress;
import io.disagg.kv.KvSendSession;
import io.disagg.kv.KvTransferException;
import io.disagg.kv.KvTransferException.Reason;
import io.disagg.kv.TransferResult;
import io.disagg.proto.v1.KvTransferHeader;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * One outgoing transfer: its source blocks, what of them may be sent yet, and its outcome. The send cursor and CRC
 * are touched only by the event loop of the connection the task is bound to; {@link #layerComplete} and
 * {@link #finish} publish through volatiles and wake that loop.
 */
public final class SendTask implements KvSendSession {

  /** Whole blocks in order (push), or each layer's slice of every block, layer by layer (incremental). */
  public enum Order { BLOCK_MAJOR, LAYER_MAJOR }

  final KvAddress target;
  final KvTransferHeader header;
  final List<MemorySegment> blocks;
  final Order order;
  final int layers;
  final long blockBytes;
  final long sliceBytes;
  final LongSupplier nanoTime;
  private final CompletableFuture<TransferResult> result = new CompletableFuture<>();
  private final CompletableFuture<Void> released = new CompletableFuture<>();
  private final CompletableFuture<Void> accepted = new CompletableFuture<>();
  private final AtomicInteger layersSubmitted;
  private volatile int layersAvailable;
  private volatile boolean finished;
  private volatile ClientHandler bound;

  // Event-loop state of the bound connection.
  long unit;
  long offsetInUnit;
  long sentBytes;
  boolean trailerSent;
  final java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
  final long startNanos;
  long acquiredNanos;
  long headerNanos;
  long acceptedNanos;
  long trailerNanos;

  public SendTask(KvAddress target, KvTransferHeader header, List<MemorySegment> blocks, Order order, int layers,
      long blockBytes, LongSupplier nanoTime) {
    this.target = target;
    this.header = header;
    this.blocks = blocks;
    this.order = order;
    this.layers = layers;
    this.blockBytes = blockBytes;
    this.sliceBytes = blockBytes / layers;
    this.nanoTime = nanoTime;
    this.startNanos = nanoTime.getAsLong();
    boolean all = order == Order.BLOCK_MAJOR;
    this.layersSubmitted = new AtomicInteger(all ? layers : 0);
    this.layersAvailable = all ? layers : 0;
    this.finished = all;
    result.whenComplete((r, e) -> {
      if (e != null) {
        accepted.completeExceptionally(e);
      }
      if (e instanceof CancellationException) {
        abort(Reason.CANCELLED, "cancelled by the caller");
      }
    });
  }

  @Override
  public KvTransferHeader header() {
    return header;
  }

  @Override
  public void layerComplete(int layer) {
    int expected = layersSubmitted.get();
    if (layer != expected || !layersSubmitted.compareAndSet(expected, expected + 1)) {
      throw new IllegalArgumentException("layer: " + layer + " (expected: " + expected + ", layers in order)");
    }
    layersAvailable = layer + 1;
    kick();
  }

  @Override
  public CompletableFuture<TransferResult> finish() {
    if (layersSubmitted.get() != layers) {
      throw new IllegalStateException(
          "finish after " + layersSubmitted.get() + " of " + layers + " layers (expected: all layers complete)");
    }
    finished = true;
    kick();
    return result;
  }

  @Override
  public CompletableFuture<TransferResult> result() {
    return result;
  }

  @Override
  public void cancel(String reason) {
    abort(Reason.CANCELLED, reason);
  }

  @Override
  public CompletableFuture<Void> accepted() {
    return accepted;
  }

  void markAccepted() {
    accepted.complete(null);
  }

  @Override
  public CompletableFuture<Void> released() {
    return released;
  }

  private void kick() {
    ClientHandler h = bound;
    if (h != null) {
      h.executor().execute(() -> h.writeMore(this));
    }
  }

  private void abort(Reason reason, String message) {
    KvTransferException error = new KvTransferException(reason, message);
    accepted.completeExceptionally(error);
    result.completeExceptionally(error);
    // Result first, then bound: a connection binding concurrently either is seen here or sees the task done
    // before it writes anything (ClientHandler.start checks), so released() never completes while a write is due.
    ClientHandler h = bound;
    if (h != null) {
      h.executor().execute(() -> h.abort(this, error));
    } else {
      released.complete(null);
    }
  }

  void bind(ClientHandler handler) {
    bound = handler;
  }

  int layersAvailable() {
    return layersAvailable;
  }

  boolean finished() {
    return finished;
  }

  long totalUnits() {
    return order == Order.BLOCK_MAJOR ? blocks.size() : (long) layers * blocks.size();
  }

  long unitBytes() {
    return order == Order.BLOCK_MAJOR ? blockBytes : sliceBytes;
  }

  /** Whether unit {@code u} may be sent now. */
  boolean unitAvailable(long u) {
    return order == Order.BLOCK_MAJOR || u / blocks.size() < layersAvailable;
  }

  int unitBlock(long u) {
    return (int) (order == Order.BLOCK_MAJOR ? u : u % blocks.size());
  }

  long unitOffset(long u) {
    return order == Order.BLOCK_MAJOR ? 0 : (u / blocks.size()) * sliceBytes;
  }

  long totalBytes() {
    return blockBytes * blocks.size();
  }

  boolean isDone() {
    return result.isDone();
  }

  /** Completes with the ack; the transport no longer reads the blocks. */
  void succeed(long ackNanos) {
    // With pipelined payload the trailer may precede the accept; then "data" runs from the header.
    long dataStart = trailerNanos < acceptedNanos ? headerNanos : acceptedNanos;
    TransferResult r = new TransferResult(header.getRequestId(), target.transport(), blocks.size(), sentBytes,
        Duration.ofNanos(acquiredNanos - startNanos), Duration.ofNanos(acceptedNanos - headerNanos),
        Duration.ofNanos(trailerNanos - dataStart), Duration.ofNanos(ackNanos - Math.max(trailerNanos, acceptedNanos)),
        Duration.ofNanos(ackNanos - startNanos));
    released.complete(null);
    result.complete(r);
  }

  /** Fails; call only once the transport no longer reads the blocks. */
  void fail(KvTransferException error) {
    accepted.completeExceptionally(error);
    released.complete(null);
    result.completeExceptionally(error);
  }
}
