package io.disagg.decode.internal;

import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GeneratedToken;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * Writes one Decode stream with gRPC flow control honoured. The engine thread appends tokens; they are coalesced into
 * one pending chunk while the transport is not ready and sent when it is ({@code setOnReadyHandler}). Once
 * {@code maxPendingTokens} tokens wait unsent, {@link #wantsMore()} turns false and the engine leaves the sequence out
 * of its decode steps (it keeps its KV blocks) until the client reads again; a slow reader therefore slows only its
 * own stream and never grows memory without bound.
 *
 * <p>Thread-safety: appends come from the engine thread, readiness and cancellation from gRPC threads; all writes to
 * the observer happen under this object's lock, so they never interleave.
 */
public final class ChunkSink {
  private final ServerCallStreamObserver<DecodeChunk> observer;
  private final Runnable onChange;
  private final int maxPendingTokens;
  private DecodeChunk.Builder pending;
  private volatile int pendingTokens;
  private boolean finished;
  private boolean closed;
  private volatile boolean cancelled;
  private volatile Runnable onCancel = () -> {};
  private final BiConsumer<Status, Boolean> onEnd;
  // outside the object's lock: the cancel handler reports without taking it
  private final AtomicBoolean ended = new AtomicBoolean();

  /**
   * Installs the ready and cancel handlers, so it must be created inside the service method, before it returns.
   *
   * @param onChange run (on a gRPC thread) when the stream becomes writable again or is cancelled: wakes the engine
   */
  public ChunkSink(ServerCallStreamObserver<DecodeChunk> observer, Runnable onChange, int maxPendingTokens) {
    this(observer, onChange, maxPendingTokens, (status, clientGone) -> {});
  }

  /**
   * As {@link #ChunkSink(ServerCallStreamObserver, Runnable, int)}, telling {@code onEnd} once how the stream ended:
   * {@code OK} when completed, the status it failed with, or {@code CANCELLED} when the client went away; the flag
   * says whether the client had gone away.
   */
  public ChunkSink(ServerCallStreamObserver<DecodeChunk> observer, Runnable onChange, int maxPendingTokens,
      BiConsumer<Status, Boolean> onEnd) {
    this.observer = observer;
    this.onChange = onChange;
    this.maxPendingTokens = maxPendingTokens;
    this.onEnd = onEnd;
    observer.setOnCancelHandler(() -> {
      cancelled = true;
      ended(Status.CANCELLED);
      onCancel.run();
      onChange.run();
    });
    observer.setOnReadyHandler(() -> {
      flush();
      onChange.run();
    });
  }

  /** Adds work to do when the client goes away, before the engine is woken (e.g. releasing a reservation). */
  public void onCancel(Runnable action) {
    Runnable previous = onCancel;
    onCancel = () -> {
      previous.run();
      action.run();
    };
    if (cancelled) {
      action.run();
    }
  }

  /** Whether the client went away (cancelled, deadline passed). */
  public boolean isCancelled() {
    return cancelled;
  }

  /** Whether the engine may generate more for this stream now. */
  public boolean wantsMore() {
    return !cancelled && pendingTokens < maxPendingTokens;
  }

  /**
   * Appends to the pending chunk and sends it if the transport is ready.
   *
   * @param token a generated token, or null (e.g. a final chunk after an end-of-generation token)
   * @param finish the finish reason when this is the last chunk, else null
   * @param extras sets fields that only the first chunk carries (prefill timing), or null
   */
  public synchronized void append(
      GeneratedToken token, String textDelta, FinishReason finish, Consumer<DecodeChunk.Builder> extras) {
    if (closed || finished) {
      return;
    }
    if (pending == null) {
      pending = DecodeChunk.newBuilder();
    }
    if (token != null) {
      pending.addTokens(token);
      pendingTokens++;
    }
    if (!textDelta.isEmpty()) {
      pending.setTextDelta(pending.getTextDelta() + textDelta);
    }
    if (extras != null) {
      extras.accept(pending);
    }
    if (finish != null) {
      pending.setFinishReason(finish);
      finished = true;
    }
    flush();
  }

  /** Ends the stream with an error status; unsent tokens are dropped. */
  public synchronized void fail(Status status) {
    if (closed) {
      return;
    }
    closed = true;
    pending = null;
    pendingTokens = 0;
    ended(status);
    try {
      observer.onError(status.asRuntimeException());
    } catch (RuntimeException alreadyCancelled) {
      // the call is gone; nothing left to tell
    }
  }

  /** Sends the pending chunk if the transport can take it. */
  public synchronized void flush() {
    if (closed || pending == null) {
      return;
    }
    if (cancelled) {
      closed = true;
      pending = null;
      ended(Status.CANCELLED);
      return;
    }
    if (!observer.isReady()) {
      return;
    }
    DecodeChunk chunk = pending.build();
    pending = null;
    pendingTokens = 0;
    try {
      observer.onNext(chunk);
      if (finished) {
        closed = true;
        // before the client hears of it, so that whoever saw the stream end also sees it counted
        ended(Status.OK);
        observer.onCompleted();
      }
    } catch (RuntimeException alreadyCancelled) {
      closed = true;
      cancelled = true;
      ended(Status.CANCELLED);
      onChange.run();
    }
  }

  private void ended(Status status) {
    if (ended.compareAndSet(false, true)) {
      onEnd.accept(status, cancelled);
    }
  }
}
