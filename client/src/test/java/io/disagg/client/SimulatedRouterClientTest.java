package io.disagg.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.ServeMode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Runs the SDK conformance suite against {@link SimulatedRouter}, plus what only a simulator can arrange. */
class SimulatedRouterClientTest extends DisaggClientConformanceTest {

    private static final RetryPolicy FAST_RETRY = RetryPolicy.defaults().withMaxAttempts(3)
            .withBackoff(Duration.ofMillis(1), Duration.ofMillis(5));

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private SimulatedRouter router;

    @Override
    protected String target() {
        if (router == null) {
            try {
                router = SimulatedRouter.start(scheduler).tokenDelay(Duration.ofMillis(1));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return router.target();
    }

    @AfterEach
    void stopRouter() throws InterruptedException {
        router.close();
        scheduler.shutdownNow();
    }

    private DisaggClient retryingClient() {
        return DisaggClient.builder().target(target()).usePlaintext().retryPolicy(FAST_RETRY)
                .random(new SplittableRandom(7)).defaultDeadline(Duration.ofSeconds(30)).build();
    }

    @Test
    void generate_simulatedText_isConcatenationOfTokens() {
        GenerateResult r = client.generate(greedy("sim-text", 3));

        assertThat(r.text()).isEqualTo("t0 t1 t2 ");
        assertThat(r.tokenIds()).containsExactly(100, 101, 102);
        assertThat(r.usage()).isEqualTo(new TokenUsage(6, 3, 0));
    }

    @Test
    void generate_forceMode_isSentAndEchoed() {
        var request = greedy("sim-force", 2).toBuilder().setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build();

        GenerateResult r = client.generate(request);

        assertThat(r.servedBy().mode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
        assertThat(r.servedBy().prefillWorker()).isEqualTo("sim-prefill-0");
    }

    @Test
    void retry_greedyUnavailableTwice_succeedsOnThirdAttempt() {
        router.failNext(2, Status.UNAVAILABLE);
        try (var c = retryingClient()) {
            GenerateResult r = c.generate(greedy("retry-greedy", 2));

            assertThat(r.clientTiming().attempts()).isEqualTo(3);
            assertThat(r.text()).isEqualTo(SimulatedRouter.expectedText(2));
        }
        assertThat(router.calls()).isEqualTo(3);
    }

    @Test
    void retry_seededSampling_isRetried() {
        router.failNext(1, Status.UNAVAILABLE);
        var seeded = greedy("retry-seeded", 2).toBuilder()
                .setSampling(SamplingParams.newBuilder().setTemperature(0.8f).setSeed(42).setHasSeed(true)).build();
        try (var c = retryingClient()) {
            assertThat(c.generate(seeded).clientTiming().attempts()).isEqualTo(2);
        }
    }

    @Test
    void retry_unseededSampling_isNotRetried() {
        router.failNext(1, Status.UNAVAILABLE);
        var sampled = greedy("retry-sampled", 2).toBuilder()
                .setSampling(SamplingParams.newBuilder().setTemperature(0.8f)).build();
        try (var c = retryingClient()) {
            assertThatThrownBy(() -> c.generate(sampled)).isInstanceOfSatisfying(StatusRuntimeException.class,
                    e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        }
        assertThat(router.calls()).isEqualTo(1);
    }

    @Test
    void retry_internalError_isNotRetried() {
        router.failNext(1, Status.INTERNAL);
        try (var c = retryingClient()) {
            assertThatThrownBy(() -> c.generate(greedy("retry-internal", 2)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INTERNAL));
        }
        assertThat(router.calls()).isEqualTo(1);
    }

    @Test
    void retry_attemptsExhausted_failsWithUnavailableAfterMaxAttempts() {
        router.failNext(10, Status.UNAVAILABLE);
        try (var c = retryingClient()) {
            assertThatThrownBy(() -> c.generate(greedy("retry-exhausted", 2)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        }
        assertThat(router.calls()).isEqualTo(3);
    }

    @Test
    void retry_backoffLongerThanDeadline_failsWithoutWaiting() {
        router.failNext(10, Status.UNAVAILABLE);
        var slowRetry = RetryPolicy.defaults().withBackoff(Duration.ofSeconds(60), Duration.ofSeconds(60))
                .withJitter(0);
        try (var c = DisaggClient.builder().target(target()).usePlaintext().retryPolicy(slowRetry)
                .defaultDeadline(Duration.ofSeconds(5)).build()) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> c.generate(greedy("retry-deadline", 2)))
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
        }
        assertThat(router.calls()).isEqualTo(1);
    }

    @Test
    void retry_streamUnavailableBeforeOutput_isRetried() throws Exception {
        router.failNext(1, Status.UNAVAILABLE);
        var events = new RecordingListener();
        try (var c = retryingClient()) {
            GenerateResult r = c.generateStream(greedy("retry-stream", 3), events).result().get(10, TimeUnit.SECONDS);

            assertThat(r.clientTiming().attempts()).isEqualTo(2);
            assertThat(r.text()).isEqualTo(SimulatedRouter.expectedText(3));
        }
        assertThat(events.errors).isEmpty();
        assertThat(events.chunks).hasSize(4);
    }

    @Test
    void retry_streamFailsAfterOutput_isNotRetried() {
        router.failAfterTokens(2, Status.UNAVAILABLE);
        var events = new RecordingListener();
        try (var c = retryingClient()) {
            var stream = c.generateStream(greedy("retry-midstream", 5), events);

            assertThatThrownBy(() -> stream.result().get(10, TimeUnit.SECONDS)).cause()
                    .isInstanceOfSatisfying(StatusRuntimeException.class,
                            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        }
        assertThat(router.calls()).isEqualTo(1);
        assertThat(events.chunks).hasSize(2);
        assertThat(events.errors).hasSize(1);
    }

    @Test
    void apiKey_isSentAsBearerAuthorization() {
        try (var c = DisaggClient.builder().target(target()).usePlaintext().apiKey("sk-test-123").build()) {
            c.generate(greedy("auth", 1));
        }
        assertThat(router.authorizations()).containsExactly("Bearer sk-test-123");
    }

    @Test
    void cancel_streamAfterFirstChunk_routerObservesCancellation() throws Exception {
        router.stallAfter(1);
        var firstChunk = new CompletableFuture<GenerateChunk>();
        var events = new RecordingListener();
        GenerateStream stream = client.generateStream(greedy("cancel-stream", 50), new GenerateListener() {
            @Override
            public void onChunk(GenerateChunk chunk) {
                events.onChunk(chunk);
                firstChunk.complete(chunk);
            }

            @Override
            public void onError(StatusRuntimeException error) {
                events.onError(error);
            }
        });
        firstChunk.get(10, TimeUnit.SECONDS);

        stream.cancel("user pressed stop");

        router.cancellation("cancel-stream").get(10, TimeUnit.SECONDS);
        assertThatThrownBy(() -> stream.result().get(10, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
                    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED);
                    assertThat(e.getStatus().getDescription()).isEqualTo("user pressed stop");
                });
        assertThat(events.errors).hasSize(1);
        stream.cancel("twice is harmless");
        assertThat(events.errors).hasSize(1);
    }

    @Test
    void cancel_asyncFuture_routerObservesCancellation() throws Exception {
        router.stallAfter(1);
        CompletableFuture<GenerateResult> future = client.generateAsync(greedy("cancel-unary", 50));
        router.arrival("cancel-unary").get(10, TimeUnit.SECONDS);

        assertThat(future.cancel(true)).isTrue();

        router.cancellation("cancel-unary").get(10, TimeUnit.SECONDS);
    }

    @Test
    void cancel_streamResultFuture_cancelsStream() throws Exception {
        router.stallAfter(1);
        var events = new RecordingListener();
        GenerateStream stream = client.generateStream(greedy("cancel-future", 50), events);
        router.arrival("cancel-future").get(10, TimeUnit.SECONDS);

        stream.result().cancel(true);

        router.cancellation("cancel-future").get(10, TimeUnit.SECONDS);
    }

    @Test
    void deadline_midStream_routerObservesCancellationAndClientKeepsChunks() throws Exception {
        router.stallAfter(2);
        var events = new RecordingListener();
        var stream = client.withDeadline(Duration.ofMillis(200)).generateStream(greedy("deadline-mid", 50), events);

        assertThatThrownBy(() -> stream.result().get(10, TimeUnit.SECONDS)).cause()
                .isInstanceOfSatisfying(StatusRuntimeException.class,
                        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
        router.cancellation("deadline-mid").get(10, TimeUnit.SECONDS);
        assertThat(events.chunks).extracting(GenerateChunk::getTextDelta).containsExactly("t0 ", "t1 ");
    }

    @Test
    void builder_invalidArguments_failFast() {
        assertThatThrownBy(() -> DisaggClient.builder().target(" "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target");
        assertThatThrownBy(() -> DisaggClient.builder().defaultDeadline(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("deadline: PT-1S (expected: >= 0)");
        assertThatThrownBy(() -> DisaggClient.builder().apiKey("has space"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("apiKey");
        assertThatThrownBy(() -> DisaggClient.builder().build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("target");
        assertThatThrownBy(() -> client.generate("x", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("maxTokens: 0 (expected: > 0)");
    }

    @Test
    void isIdempotent_greedyOrSeededOnly() {
        var base = GenerateRequest.newBuilder().setText("x").build();
        assertThat(DisaggClient.isIdempotent(base)).isTrue();
        assertThat(DisaggClient.isIdempotent(base.toBuilder()
                .setSampling(SamplingParams.newBuilder().setTemperature(0f).setTopK(5)).build())).isTrue();
        assertThat(DisaggClient.isIdempotent(base.toBuilder()
                .setSampling(SamplingParams.newBuilder().setTemperature(1f)).build())).isFalse();
        assertThat(DisaggClient.isIdempotent(base.toBuilder()
                .setSampling(SamplingParams.newBuilder().setTemperature(1f).setHasSeed(true)).build())).isTrue();
    }
}
