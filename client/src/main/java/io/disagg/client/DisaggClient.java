package io.disagg.client;

import io.disagg.client.internal.BearerTokenInterceptor;
import io.disagg.client.internal.CallSettings;
import io.disagg.client.internal.Idempotency;
import io.disagg.client.internal.StreamingGenerateCall;
import io.disagg.client.internal.UnaryGenerateCall;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.RouterGrpc;
import io.grpc.Channel;
import io.grpc.ChannelCredentials;
import io.grpc.ClientInterceptors;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * A client of the Disagg router: blocking, asynchronous and streaming generation over gRPC.
 *
 * <p>Blocking generation:
 * {@snippet :
 * try (DisaggClient client = DisaggClient.builder()
 *         .target(target)                      // e.g. "localhost:50051"
 *         .usePlaintext()
 *         .defaultDeadline(Duration.ofSeconds(30))
 *         .build()) {
 *     GenerateResult result = client.generate("Once upon a time", 16);
 *     System.out.println(result.text());
 *     System.out.println(result.usage().completionTokens() + " tokens, router TTFT "
 *             + result.timing().firstToken().toMillis() + " ms, served " + result.servedBy().mode());
 * }
 * }
 *
 * <p>Streaming, printing tokens as they arrive, and cancelling:
 * {@snippet :
 * try (DisaggClient client = DisaggClient.builder().target(target).usePlaintext().build()) {
 *     GenerateRequest request = GenerateRequest.newBuilder()
 *             .setText("Write a haiku about queues")
 *             .setMaxTokens(32)
 *             .build();
 *     GenerateStream stream = client.generateStream(request, new GenerateListener() {
 *         @Override
 *         public void onChunk(GenerateChunk chunk) {
 *             System.out.print(chunk.getTextDelta());
 *         }
 *     });
 *     GenerateResult result = stream.result().get(30, TimeUnit.SECONDS);
 *     System.out.println("\nclient TTFT " + result.clientTiming().firstToken().toMillis() + " ms");
 *
 *     GenerateStream abandoned = client.generateStream(request, chunk -> { });
 *     abandoned.cancel("user pressed stop");     // the router frees the request's KV blocks
 * }
 * }
 *
 * <p>Asynchronous generation with a per-call deadline and retries of idempotent (greedy or seeded) requests:
 * {@snippet :
 * try (DisaggClient client = DisaggClient.builder()
 *         .target(target)
 *         .usePlaintext()
 *         .retryPolicy(RetryPolicy.defaults())
 *         .build()) {
 *     CompletableFuture<GenerateResult> future = client.withDeadline(Duration.ofSeconds(5))
 *             .generateAsync(GenerateRequest.newBuilder().setText("2 + 2 =").setMaxTokens(4).build());
 *     future.thenAccept(r -> System.out.println(r.text())).join();
 * }
 * }
 *
 * <p>Errors are {@link StatusRuntimeException}s: {@code DEADLINE_EXCEEDED} when the deadline passes,
 * {@code CANCELLED} after {@link GenerateStream#cancel}, {@code UNAVAILABLE} when the router cannot be reached
 * (after retries, if the policy and the request allow them), {@code UNAUTHENTICATED} for a bad API key.
 *
 * <p>Thread-safe; create one per router and share it. {@link #close()} shuts down the channel it created.
 */
public final class DisaggClient implements AutoCloseable {

    private final CallSettings settings;
    private final RouterGrpc.RouterBlockingStub blocking;
    private final ManagedChannel ownedChannel;
    private final ScheduledExecutorService ownedScheduler;

    private DisaggClient(CallSettings settings, ManagedChannel ownedChannel, ScheduledExecutorService ownedScheduler) {
        this.settings = settings;
        this.blocking = RouterGrpc.newBlockingStub(settings.channel());
        this.ownedChannel = ownedChannel;
        this.ownedScheduler = ownedScheduler;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A view of this client whose calls use {@code deadline} (covering all retry attempts) instead of the default.
     * It shares this client's channel; closing the view does nothing.
     */
    public DisaggClient withDeadline(Duration deadline) {
        Builder.checkDeadline(deadline);
        return new DisaggClient(settings.withDeadline(deadline), null, null);
    }

    /** Generates text for a plain prompt, greedily. */
    public GenerateResult generate(String prompt, int maxTokens) {
        if (maxTokens <= 0) {
            throw new IllegalArgumentException("maxTokens: %d (expected: > 0)".formatted(maxTokens));
        }
        return generate(GenerateRequest.newBuilder().setText(prompt).setMaxTokens(maxTokens).build());
    }

    /**
     * Runs a whole generation and waits for it. Interrupting the calling thread cancels the call.
     *
     * @throws StatusRuntimeException when the call fails
     */
    public GenerateResult generate(GenerateRequest request) {
        CompletableFuture<GenerateResult> future = generateAsync(request);
        try {
            return future.get();
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            throw Status.CANCELLED.withDescription("interrupted").withCause(e).asRuntimeException();
        } catch (ExecutionException e) {
            throw unwrap(e.getCause());
        }
    }

    /**
     * Starts a whole generation. The future completes with the result or exceptionally with a
     * {@link StatusRuntimeException}; cancelling it cancels the call.
     */
    public CompletableFuture<GenerateResult> generateAsync(GenerateRequest request) {
        Objects.requireNonNull(request, "request");
        return UnaryGenerateCall.start(settings, request);
    }

    /** Starts a streaming generation; chunks go to {@code listener} as the router sends them. */
    public GenerateStream generateStream(GenerateRequest request, GenerateListener listener) {
        Objects.requireNonNull(request, "request");
        Objects.requireNonNull(listener, "listener");
        return StreamingGenerateCall.start(settings, request, listener);
    }

    /** Describes the served model. */
    public ModelDescription model() {
        var stub = settings.deadline().isZero() ? blocking
                : blocking.withDeadlineAfter(settings.deadline().toNanos(), TimeUnit.NANOSECONDS);
        return stub.getModel(GetModelRequest.getDefaultInstance());
    }

    /** Whether the retry policy may retry {@code request}: greedy or seeded requests give the same tokens again. */
    public static boolean isIdempotent(GenerateRequest request) {
        return Idempotency.isIdempotent(request);
    }

    /** Shuts down the channel and scheduler this client created; calls in flight are cancelled after 5 s. */
    @Override
    public void close() {
        if (ownedScheduler != null) {
            ownedScheduler.shutdownNow();
        }
        if (ownedChannel != null) {
            ownedChannel.shutdown();
            try {
                if (!ownedChannel.awaitTermination(5, TimeUnit.SECONDS)) {
                    ownedChannel.shutdownNow();
                }
            } catch (InterruptedException e) {
                ownedChannel.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }

    private static StatusRuntimeException unwrap(Throwable t) {
        if (t instanceof StatusRuntimeException sre) {
            return sre;
        }
        if (t instanceof CancellationException) {
            return Status.CANCELLED.withDescription("cancelled").withCause(t).asRuntimeException();
        }
        return Status.fromThrowable(t).asRuntimeException();
    }

    /** Configures a {@link DisaggClient}; every setter validates its argument at once. */
    public static final class Builder {

        private String target;
        private Channel channel;
        private boolean plaintext;
        private Path trustedCertificates;
        private String apiKey;
        private Duration defaultDeadline = Duration.ZERO;
        private RetryPolicy retryPolicy = RetryPolicy.none();
        private ScheduledExecutorService scheduler;
        private LongSupplier ticker = System::nanoTime;
        private RandomGenerator random;

        private Builder() {
        }

        /** The router: {@code host:port} or any gRPC target URI such as {@code dns:///router.internal:50051}. */
        public Builder target(String target) {
            Objects.requireNonNull(target, "target");
            if (target.isBlank() || target.chars().anyMatch(Character::isWhitespace)) {
                throw new IllegalArgumentException("target: '%s' (expected: host:port or a gRPC target URI)"
                        .formatted(target));
            }
            this.target = target;
            return this;
        }

        /**
         * Uses an existing channel instead of creating one from {@link #target}; the client does not close it.
         * TLS settings are then the channel's own.
         */
        public Builder channel(Channel channel) {
            this.channel = Objects.requireNonNull(channel, "channel");
            return this;
        }

        /** Connects without TLS (a local cluster). TLS is the default. The API key then travels in clear text. */
        public Builder usePlaintext() {
            this.plaintext = true;
            this.trustedCertificates = null;
            return this;
        }

        /** Uses TLS, trusting the PEM certificates in {@code pemFile} instead of the JDK's default trust store. */
        public Builder trustedCertificates(Path pemFile) {
            Objects.requireNonNull(pemFile, "pemFile");
            if (!pemFile.toFile().isFile()) {
                throw new IllegalArgumentException("trustedCertificates: %s (expected: a readable PEM file)"
                        .formatted(pemFile));
            }
            this.trustedCertificates = pemFile;
            this.plaintext = false;
            return this;
        }

        /** Sends {@code authorization: Bearer <apiKey>} with every call. */
        public Builder apiKey(String apiKey) {
            Objects.requireNonNull(apiKey, "apiKey");
            if (apiKey.isEmpty() || !apiKey.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
                throw new IllegalArgumentException("apiKey: (expected: non-empty printable ASCII without spaces)");
            }
            this.apiKey = apiKey;
            return this;
        }

        /** Deadline for each call, covering all its retry attempts; {@link Duration#ZERO} (default) means none. */
        public Builder defaultDeadline(Duration deadline) {
            checkDeadline(deadline);
            this.defaultDeadline = deadline;
            return this;
        }

        /** Retries for idempotent calls; {@link RetryPolicy#none()} by default. */
        public Builder retryPolicy(RetryPolicy policy) {
            this.retryPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        /** Runs retry attempts after their backoff; not shut down by the client. Default: a daemon thread. */
        public Builder scheduler(ScheduledExecutorService scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /** Monotonic nanosecond clock for {@link ClientTiming}; {@code System::nanoTime} by default. */
        public Builder ticker(LongSupplier ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /** Source of retry jitter; seed it for repeatable tests. Default: a randomly seeded generator. */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        public DisaggClient build() {
            if (target == null && channel == null) {
                throw new IllegalStateException("target: not set (expected: host:port or a channel)");
            }
            ManagedChannel owned = null;
            Channel base = channel;
            if (base == null) {
                owned = Grpc.newChannelBuilder(target, credentials()).build();
                base = owned;
            }
            if (apiKey != null) {
                base = ClientInterceptors.intercept(base, new BearerTokenInterceptor(apiKey));
            }
            ScheduledExecutorService ownedScheduler = null;
            ScheduledExecutorService s = scheduler;
            if (s == null) {
                ownedScheduler = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform()
                        .name("disagg-client-retry").daemon(true).factory());
                s = ownedScheduler;
            }
            RandomGenerator r = random != null ? random : RandomGeneratorFactory.getDefault().create();
            var settings = new CallSettings(base, s, ticker, r, retryPolicy, defaultDeadline);
            return new DisaggClient(settings, owned, ownedScheduler);
        }

        private ChannelCredentials credentials() {
            if (plaintext) {
                return InsecureChannelCredentials.create();
            }
            var tls = TlsChannelCredentials.newBuilder();
            if (trustedCertificates != null) {
                try {
                    tls.trustManager(trustedCertificates.toFile());
                } catch (IOException e) {
                    throw new UncheckedIOException("trustedCertificates: " + trustedCertificates, e);
                }
            }
            return tls.build();
        }

        static void checkDeadline(Duration deadline) {
            Objects.requireNonNull(deadline, "deadline");
            if (deadline.isNegative()) {
                throw new IllegalArgumentException("deadline: %s (expected: >= 0)".formatted(deadline));
            }
        }
    }
}
