package io.disagg.client.internal;

import io.disagg.client.GenerateResult;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.RouterGrpc;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One unary {@code Generate}, retried on {@code UNAVAILABLE} when the request is idempotent. The returned future
 * completes exactly once; cancelling it cancels the attempt in flight (or the pending retry).
 */
public final class UnaryGenerateCall {

    private final CallSettings settings;
    private final GenerateRequest request;
    private final boolean retryable;
    private final CompletableFuture<GenerateResult> future = new CompletableFuture<>();
    private final long startNanos;
    private final Deadline deadline;
    private volatile ClientCall<GenerateRequest, GenerateResponse> current;

    private UnaryGenerateCall(CallSettings settings, GenerateRequest request) {
        this.settings = settings;
        this.request = request;
        this.retryable = Idempotency.isIdempotent(request);
        this.startNanos = settings.ticker().getAsLong();
        this.deadline = settings.deadline().isZero() ? null
                : Deadline.after(settings.deadline().toNanos(), TimeUnit.NANOSECONDS);
        future.whenComplete((r, e) -> {
            var call = current;
            if (e instanceof CancellationException && call != null) {
                call.cancel("cancelled by the caller", null);
            }
        });
    }

    public static CompletableFuture<GenerateResult> start(CallSettings settings, GenerateRequest request) {
        var call = new UnaryGenerateCall(settings, request);
        call.attempt(1);
        return call.future;
    }

    private void attempt(int n) {
        if (future.isDone()) {
            return;
        }
        if (deadline != null && deadline.isExpired()) {
            future.completeExceptionally(Status.DEADLINE_EXCEEDED
                    .withDescription("deadline expired before attempt " + n).asRuntimeException());
            return;
        }
        var options = deadline == null ? CallOptions.DEFAULT : CallOptions.DEFAULT.withDeadline(deadline);
        ClientCall<GenerateRequest, GenerateResponse> call =
                settings.channel().newCall(RouterGrpc.getGenerateMethod(), options);
        current = call;
        ClientCalls.asyncUnaryCall(call, request, new StreamObserver<>() {
            private GenerateResponse response;

            @Override
            public void onNext(GenerateResponse value) {
                response = value;
            }

            @Override
            public void onError(Throwable t) {
                Status status = Status.fromThrowable(t);
                if (shouldRetry(status, n)) {
                    Duration backoff = settings.backoff(n);
                    if (deadline == null || deadline.timeRemaining(TimeUnit.NANOSECONDS) > backoff.toNanos()) {
                        settings.scheduler().schedule(() -> attempt(n + 1), backoff.toNanos(), TimeUnit.NANOSECONDS);
                        return;
                    }
                }
                future.completeExceptionally(asStatusException(t, status));
            }

            @Override
            public void onCompleted() {
                future.complete(Results.fromResponse(response, startNanos, settings.ticker().getAsLong(), n));
            }
        });
        // A cancel that raced with this attempt's creation saw the previous call (or none).
        if (future.isCancelled()) {
            call.cancel("cancelled by the caller", null);
        }
    }

    private boolean shouldRetry(Status status, int attemptsMade) {
        return retryable && status.getCode() == Status.Code.UNAVAILABLE
                && attemptsMade < settings.retry().maxAttempts() && !future.isDone();
    }

    static StatusRuntimeException asStatusException(Throwable t, Status status) {
        return t instanceof StatusRuntimeException sre ? sre : status.asRuntimeException();
    }
}
