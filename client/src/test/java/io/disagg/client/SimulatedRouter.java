package io.disagg.client;

import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.RouterGrpc;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import io.disagg.proto.v1.Timing;
import io.disagg.proto.v1.Usage;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;

/**
 * A <b>simulated</b> Disagg router for SDK and load-generator tests: it serves the real {@code disagg.v1.Router}
 * service on a loopback port but runs no model.
 *
 * <p>Behaviour, all deterministic:
 * <ul>
 *   <li>Token {@code i} (0-based) has id {@code 100 + i} and text {@code "t<i> "}; a request yields
 *       {@code max_tokens} tokens (8 when unset), one per chunk, then a final chunk with finish reason
 *       {@code LENGTH}, usage (prompt tokens = whitespace-separated words, or the token ids given) and timing.</li>
 *   <li>Chunks are {@link #tokenDelay spaced} by a delay run on the injected scheduler, never by sleeping.</li>
 *   <li>{@link #stallAfter} stops a generation after some tokens until the client cancels or its deadline passes.</li>
 *   <li>{@link #failNext} fails the next calls with a status; {@link #failAfterTokens} fails mid-stream.</li>
 *   <li>Cancellation by the client is observed and reported through {@link #cancellation}.</li>
 * </ul>
 */
public final class SimulatedRouter implements AutoCloseable {

    static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

    private final ScheduledExecutorService scheduler;
    private final LongSupplier ticker;
    private final Server server;
    private final AtomicInteger calls = new AtomicInteger();
    private final Queue<String> authorizations = new ConcurrentLinkedQueue<>();
    private final Queue<GenerateRequest> requests = new ConcurrentLinkedQueue<>();
    private final Map<String, CompletableFuture<Void>> cancellations = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<GenerateRequest>> arrivals = new ConcurrentHashMap<>();
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private volatile Status failure = Status.UNAVAILABLE;
    private volatile Duration tokenDelay = Duration.ZERO;
    private volatile int stallAfter = -1;
    private volatile int failAfterTokens = -1;
    private volatile Status midStreamFailure = Status.UNAVAILABLE;

    private SimulatedRouter(ScheduledExecutorService scheduler, LongSupplier ticker) throws IOException {
        this.scheduler = scheduler;
        this.ticker = ticker;
        ServerInterceptor headers = new ServerInterceptor() {
            @Override
            public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata md,
                                                               ServerCallHandler<Q, R> next) {
                String auth = md.get(AUTHORIZATION);
                authorizations.add(auth == null ? "" : auth);
                return next.startCall(call, md);
            }
        };
        this.server = NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
                .addService(ServerInterceptors.intercept(new Service(), headers))
                .build()
                .start();
    }

    /** Starts the simulator on a loopback port chosen by the OS; delays run on {@code scheduler}. */
    public static SimulatedRouter start(ScheduledExecutorService scheduler) throws IOException {
        return new SimulatedRouter(scheduler, System::nanoTime);
    }

    public int port() {
        return server.getPort();
    }

    /** {@code localhost:<port>} on the loopback address. */
    public String target() {
        return InetAddress.getLoopbackAddress().getHostAddress() + ":" + port();
    }

    public SimulatedRouter tokenDelay(Duration delay) {
        this.tokenDelay = delay;
        return this;
    }

    /** Generations send {@code tokens} tokens and then wait for cancellation; negative disables stalling. */
    public SimulatedRouter stallAfter(int tokens) {
        this.stallAfter = tokens;
        return this;
    }

    /** The next {@code count} calls fail at once with {@code status}. */
    public SimulatedRouter failNext(int count, Status status) {
        this.failure = status;
        this.failuresLeft.set(count);
        return this;
    }

    /** Streams fail with {@code status} after {@code tokens} tokens; negative disables it. */
    public SimulatedRouter failAfterTokens(int tokens, Status status) {
        this.midStreamFailure = status;
        this.failAfterTokens = tokens;
        return this;
    }

    /** Generate and GenerateStream calls received, failed ones included. */
    public int calls() {
        return calls.get();
    }

    /** The {@code authorization} header of every call so far ({@code ""} when absent). */
    public List<String> authorizations() {
        return List.copyOf(authorizations);
    }

    public List<GenerateRequest> requests() {
        return List.copyOf(requests);
    }

    /** Completes when the generation with {@code requestId} is cancelled by its client (or its deadline). */
    public CompletableFuture<Void> cancellation(String requestId) {
        return cancellations.computeIfAbsent(requestId, id -> new CompletableFuture<>());
    }

    /** Completes when a call for {@code requestId} reaches the simulator. */
    public CompletableFuture<GenerateRequest> arrival(String requestId) {
        return arrivals.computeIfAbsent(requestId, id -> new CompletableFuture<>());
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
    }

    static String tokenText(int i) {
        return "t" + i + " ";
    }

    private final class Service extends RouterGrpc.RouterImplBase {

        @Override
        public void generate(GenerateRequest request, StreamObserver<GenerateResponse> out) {
            var response = GenerateResponse.newBuilder();
            run(request, (ServerCallStreamObserver<?>) out, new Sink() {
                @Override
                public void token(int i) {
                    response.addTokenIds(100 + i);
                    response.setText(response.getText() + tokenText(i));
                }

                @Override
                public void finish(GenerateChunk last) {
                    out.onNext(response.setRequestId(last.getRequestId()).setFinishReason(last.getFinishReason())
                            .setUsage(last.getUsage()).setTiming(last.getTiming()).setServedBy(last.getServedBy())
                            .build());
                    out.onCompleted();
                }

                @Override
                public void fail(Status status) {
                    out.onError(status.asRuntimeException());
                }
            });
        }

        @Override
        public void generateStream(GenerateRequest request, StreamObserver<GenerateChunk> out) {
            run(request, (ServerCallStreamObserver<?>) out, new Sink() {
                @Override
                public void token(int i) {
                    out.onNext(GenerateChunk.newBuilder().setRequestId(request.getRequestId())
                            .addTokenIds(100 + i).setTextDelta(tokenText(i)).build());
                }

                @Override
                public void finish(GenerateChunk last) {
                    out.onNext(last);
                    out.onCompleted();
                }

                @Override
                public void fail(Status status) {
                    out.onError(status.asRuntimeException());
                }
            });
        }

        @Override
        public void getModel(GetModelRequest request, StreamObserver<ModelDescription> out) {
            out.onNext(ModelDescription.newBuilder().setName("simulated").setArchitecture("simulated")
                    .setContextLength(4096).setVocabSize(32000).setBosTokenId(1).setEosTokenId(2).build());
            out.onCompleted();
        }
    }

    private interface Sink {
        void token(int i);

        void finish(GenerateChunk last);

        void fail(Status status);
    }

    private void run(GenerateRequest request, ServerCallStreamObserver<?> call, Sink sink) {
        calls.incrementAndGet();
        requests.add(request);
        arrival(request.getRequestId()).complete(request);
        if (failuresLeft.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            sink.fail(failure.withDescription("simulated failure"));
            return;
        }
        new Generation(request, call, sink).step(0);
    }

    /** One request's token loop; each step runs on the scheduler after the token delay. */
    private final class Generation {
        private final GenerateRequest request;
        private final Sink sink;
        private final int tokens;
        private final long start = ticker.getAsLong();
        private long firstTokenNanos;
        private volatile boolean cancelled;

        Generation(GenerateRequest request, ServerCallStreamObserver<?> call, Sink sink) {
            this.request = request;
            this.sink = sink;
            this.tokens = request.getMaxTokens() == 0 ? 8 : request.getMaxTokens();
            call.setOnCancelHandler(() -> {
                cancelled = true;
                cancellation(request.getRequestId()).complete(null);
            });
        }

        void step(int i) {
            if (cancelled) {
                return;
            }
            if (i == failAfterTokens) {
                sink.fail(midStreamFailure.withDescription("simulated failure after " + i + " tokens"));
                return;
            }
            if (i == stallAfter) {
                return;
            }
            if (i == tokens) {
                sink.finish(last());
                return;
            }
            if (i == 0) {
                firstTokenNanos = ticker.getAsLong();
            }
            sink.token(i);
            Duration delay = tokenDelay;
            if (delay.isZero()) {
                step(i + 1);
            } else {
                scheduler.schedule(() -> step(i + 1), delay.toNanos(), TimeUnit.NANOSECONDS);
            }
        }

        private GenerateChunk last() {
            long end = ticker.getAsLong();
            int promptTokens = request.hasTokenIds() ? request.getTokenIds().getIdsCount()
                    : request.getText().isBlank() ? 0 : request.getText().trim().split("\\s+").length;
            ServeMode mode = request.getForceMode() == ServeMode.SERVE_MODE_UNSPECIFIED
                    ? ServeMode.SERVE_MODE_COLOCATED : request.getForceMode();
            long firstUs = (firstTokenNanos - start) / 1_000;
            long totalUs = (end - start) / 1_000;
            return GenerateChunk.newBuilder()
                    .setRequestId(request.getRequestId())
                    .setFinishReason(FinishReason.FINISH_REASON_LENGTH)
                    .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(tokens))
                    .setTiming(Timing.newBuilder().setFirstTokenUs(firstUs).setDecodeUs(totalUs - firstUs)
                            .setTotalUs(totalUs))
                    .setServedBy(ServedBy.newBuilder().setMode(mode).setReason("simulated")
                            .setDecodeWorker("sim-decode-0")
                            .setPrefillWorker(mode == ServeMode.SERVE_MODE_DISAGGREGATED ? "sim-prefill-0" : ""))
                    .build();
        }
    }

    /** Expected text of a simulated generation of {@code n} tokens. */
    public static String expectedText(int n) {
        var sb = new StringBuilder();
        for (int i = 0; i < n; i++) {
            sb.append(tokenText(i));
        }
        return sb.toString();
    }

    /** Expected token ids of a simulated generation of {@code n} tokens. */
    public static List<Integer> expectedTokenIds(int n) {
        var ids = new ArrayList<Integer>();
        for (int i = 0; i < n; i++) {
            ids.add(100 + i);
        }
        return ids;
    }
}
