package io.disagg.client.internal;

import io.disagg.client.ClientTiming;
import io.disagg.client.GenerateListener;
import io.disagg.client.GenerateResult;
import io.disagg.client.GenerateStream;
import io.disagg.client.ServingInfo;
import io.disagg.client.TimingBreakdown;
import io.disagg.client.TokenUsage;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.RouterGrpc;
import io.grpc.CallOptions;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One {@code GenerateStream}: forwards chunks to the listener, assembles the result, and retries on
 * {@code UNAVAILABLE} only while no chunk has arrived (after that, a retry would repeat output the caller saw).
 *
 * <p>State changes happen under {@code this}; gRPC serializes the callbacks of one call and attempts never overlap,
 * so the listener is never called concurrently.
 */
public final class StreamingGenerateCall implements GenerateStream {

    private final CallSettings settings;
    private final GenerateRequest request;
    private final GenerateListener listener;
    private final boolean retryable;
    private final long startNanos;
    private final Deadline deadline;
    private final CompletableFuture<GenerateResult> future = new CompletableFuture<>();

    private final StringBuilder text = new StringBuilder();
    private final List<Integer> tokenIds = new ArrayList<>();
    private GenerateChunk last;
    private long firstTokenNanos = -1;
    private boolean sawChunk;
    private boolean terminated;
    private String cancelReason;
    private ClientCallStreamObserver<GenerateRequest> current;

    private StreamingGenerateCall(CallSettings settings, GenerateRequest request, GenerateListener listener) {
        this.settings = settings;
        this.request = request;
        this.listener = listener;
        this.retryable = Idempotency.isIdempotent(request);
        this.startNanos = settings.ticker().getAsLong();
        this.deadline = settings.deadline().isZero() ? null
                : Deadline.after(settings.deadline().toNanos(), TimeUnit.NANOSECONDS);
        future.whenComplete((r, e) -> {
            if (e instanceof CancellationException) {
                cancel("result future cancelled");
            }
        });
    }

    public static GenerateStream start(CallSettings settings, GenerateRequest request, GenerateListener listener) {
        var call = new StreamingGenerateCall(settings, request, listener);
        call.attempt(1);
        return call;
    }

    @Override
    public CompletableFuture<GenerateResult> result() {
        return future;
    }

    @Override
    public void cancel(String reason) {
        ClientCallStreamObserver<GenerateRequest> call;
        synchronized (this) {
            if (terminated || cancelReason != null) {
                return;
            }
            cancelReason = reason;
            call = current;
        }
        if (call != null) {
            // gRPC answers with onError(CANCELLED), which terminates the stream.
            call.cancel(reason, null);
        } else {
            terminate(Status.CANCELLED.withDescription(reason).asRuntimeException());
        }
    }

    private void attempt(int n) {
        String pendingCancel;
        synchronized (this) {
            if (terminated) {
                return;
            }
            pendingCancel = cancelReason;
        }
        if (pendingCancel != null) {
            terminate(Status.CANCELLED.withDescription(pendingCancel).asRuntimeException());
            return;
        }
        if (deadline != null && deadline.isExpired()) {
            terminate(Status.DEADLINE_EXCEEDED.withDescription("deadline expired before attempt " + n)
                    .asRuntimeException());
            return;
        }
        var options = deadline == null ? CallOptions.DEFAULT : CallOptions.DEFAULT.withDeadline(deadline);
        var call = settings.channel().newCall(RouterGrpc.getGenerateStreamMethod(), options);
        ClientCalls.asyncServerStreamingCall(call, request, new ClientResponseObserver<GenerateRequest, GenerateChunk>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
                String pendingCancel;
                synchronized (StreamingGenerateCall.this) {
                    current = requestStream;
                    pendingCancel = cancelReason;
                }
                if (pendingCancel != null) {
                    requestStream.cancel(pendingCancel, null);
                }
            }

            @Override
            public void onNext(GenerateChunk chunk) {
                onChunk(chunk);
            }

            @Override
            public void onError(Throwable t) {
                Status status = Status.fromThrowable(t);
                synchronized (StreamingGenerateCall.this) {
                    if (!sawChunk && retryable && cancelReason == null && status.getCode() == Status.Code.UNAVAILABLE
                            && n < settings.retry().maxAttempts()) {
                        Duration backoff = settings.backoff(n);
                        if (deadline == null || deadline.timeRemaining(TimeUnit.NANOSECONDS) > backoff.toNanos()) {
                            current = null;
                            settings.scheduler().schedule(() -> attempt(n + 1), backoff.toNanos(),
                                    TimeUnit.NANOSECONDS);
                            return;
                        }
                    }
                }
                terminate(UnaryGenerateCall.asStatusException(t, status));
            }

            @Override
            public void onCompleted() {
                finish(n);
            }
        });
    }

    private void onChunk(GenerateChunk chunk) {
        synchronized (this) {
            if (terminated) {
                return;
            }
            sawChunk = true;
            if (firstTokenNanos < 0 && chunk.getTokenIdsCount() > 0) {
                firstTokenNanos = settings.ticker().getAsLong();
            }
            text.append(chunk.getTextDelta());
            tokenIds.addAll(chunk.getTokenIdsList());
            if (chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
                last = chunk;
            }
        }
        try {
            listener.onChunk(chunk);
        } catch (RuntimeException e) {
            ClientCallStreamObserver<GenerateRequest> call;
            synchronized (this) {
                call = current;
            }
            if (call != null) {
                call.cancel("listener threw", e);
            }
        }
    }

    private void finish(int attempts) {
        GenerateChunk fin;
        synchronized (this) {
            fin = last;
        }
        if (fin == null) {
            terminate(Status.INTERNAL.withDescription("stream ended without a final chunk").asRuntimeException());
            return;
        }
        long end = settings.ticker().getAsLong();
        GenerateResult result;
        synchronized (this) {
            if (terminated) {
                return;
            }
            terminated = true;
            Duration first = firstTokenNanos < 0 ? Duration.ZERO : Duration.ofNanos(firstTokenNanos - startNanos);
            result = new GenerateResult(fin.getRequestId(), text.toString(), tokenIds, fin.getFinishReason(),
                    fin.hasUsage() ? TokenUsage.fromProto(fin.getUsage()) : TokenUsage.NONE,
                    fin.hasTiming() ? TimingBreakdown.fromProto(fin.getTiming()) : TimingBreakdown.NONE,
                    fin.hasServedBy() ? ServingInfo.fromProto(fin.getServedBy()) : ServingInfo.UNKNOWN,
                    new ClientTiming(first, Duration.ofNanos(end - startNanos), attempts));
        }
        try {
            listener.onCompleted(result);
        } finally {
            future.complete(result);
        }
    }

    private void terminate(StatusRuntimeException error) {
        synchronized (this) {
            if (terminated) {
                return;
            }
            terminated = true;
        }
        try {
            listener.onError(error);
        } finally {
            future.completeExceptionally(error);
        }
    }
}
