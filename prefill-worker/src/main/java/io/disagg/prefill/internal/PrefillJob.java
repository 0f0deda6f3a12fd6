package io.disagg.prefill.internal;

import io.disagg.backend.spi.SamplingParams;
import io.disagg.proto.v1.PrefillResponse;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import java.time.Instant;

/** One Prefill call from arrival to response. Answered exactly once. */
final class PrefillJob {
  final String requestId;
  final int[] prompt;
  final SamplingParams sampling;
  final String target;
  final String reservationId;
  final Instant enqueuedAt;
  private final ServerCallStreamObserver<PrefillResponse> observer;
  private volatile boolean cancelled;
  private volatile Runnable onCancel = () -> {};
  private boolean answered;
  private final java.util.function.BiConsumer<Status, Boolean> onAnswered;

  PrefillJob(String requestId, int[] prompt, SamplingParams sampling, String target, String reservationId,
      Instant enqueuedAt, ServerCallStreamObserver<PrefillResponse> observer,
      java.util.function.Consumer<PrefillJob> onCancelled,
      java.util.function.BiConsumer<Status, Boolean> onAnswered) {
    this.requestId = requestId;
    this.prompt = prompt;
    this.sampling = sampling;
    this.target = target;
    this.reservationId = reservationId;
    this.enqueuedAt = enqueuedAt;
    this.observer = observer;
    this.onAnswered = onAnswered;
    observer.setOnCancelHandler(() -> {
      cancelled = true;
      onCancel.run();
      onCancelled.accept(this);
    });
  }

  boolean isCancelled() {
    return cancelled;
  }

  /** Runs {@code action} when the call is cancelled (at once if it already is). */
  void onCancel(Runnable action) {
    onCancel = action;
    if (cancelled) {
      action.run();
    }
  }

  synchronized void succeed(PrefillResponse response) {
    if (answered) {
      return;
    }
    answered = true;
    onAnswered.accept(Status.OK, cancelled);
    try {
      observer.onNext(response);
      observer.onCompleted();
    } catch (RuntimeException callGone) {
      // cancelled meanwhile; nobody to answer
    }
  }

  synchronized void fail(Status status) {
    if (answered) {
      return;
    }
    answered = true;
    onAnswered.accept(status, cancelled);
    try {
      observer.onError(status.asRuntimeException());
    } catch (RuntimeException callGone) {
      // cancelled meanwhile; nobody to answer
    }
  }
}
