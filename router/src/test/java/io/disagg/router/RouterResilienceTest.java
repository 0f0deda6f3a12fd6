package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.RouterGrpc;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Breakers, deadlines and the front door's limits, against simulated workers over loopback gRPC. */
@Timeout(60)
class RouterResilienceTest {
  private static final GenerateRequest SHORT = GenerateRequest.newBuilder().setText("hi").setMaxTokens(3).build();

  /** A wall clock for the breakers that moves only when the test says so. */
  static final class ManualClock extends Clock {
    private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }

    void advance(Duration d) {
      now = now.plus(d);
    }
  }

  private static CompletableFuture<GenerateResponse> generateAsync(RouterGrpc.RouterStub stub, GenerateRequest r) {
    CompletableFuture<GenerateResponse> result = new CompletableFuture<>();
    stub.generate(r, new StreamObserver<>() {
      @Override
      public void onNext(GenerateResponse value) {
        result.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    return result;
  }

  private static double breakerOpen(SimpleMeterRegistry meters, String worker) {
    return meters.get("disagg.router.circuit_breaker_state").tags("worker", worker, "state", "open").gauge().value();
  }

  @Test
  void generate_workerSaysChannelClosedInWords_statusReadByCodeNotText() {
    try (Cluster cluster = new Cluster(0, 1)) {
      // A live worker answering UNKNOWN "channel closed": the words are not a lost connection (that is read from the
      // cause chain, see WorkerStatusTest), so the status passes through as the worker sent it.
      cluster.decode.getFirst().failAfterFirstChunk = Status.UNKNOWN.withDescription("channel closed");

      assertThatThrownBy(() -> cluster.blocking().generate(GenerateRequest.newBuilder().setText("hello")
          .setMaxTokens(8).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN);
            assertThat(e.getStatus().getDescription()).contains("channel closed");
          });
    }
  }

  @Test
  void generate_workerFailsWithOtherUnknownError_passedThrough() {
    try (Cluster cluster = new Cluster(0, 1)) {
      cluster.decode.getFirst().failAfterFirstChunk = Status.UNKNOWN.withDescription("something odd");

      assertThatThrownBy(() -> cluster.blocking().generate(GenerateRequest.newBuilder().setText("hello")
          .setMaxTokens(8).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNKNOWN));
    }
  }

  @Test
  void generate_decodeWorkerKilledUnderLoad_breakerOpensAndOthersServeWithinDeadline() throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (Cluster cluster = new Cluster(0, 3, b -> b.meterRegistry(meters)
        .circuitBreaker(10, 1, 50f, Duration.ofMinutes(5)))) {
      String dead = cluster.decode.get(0).address();
      cluster.decode.get(0).kill();

      List<CompletableFuture<GenerateResponse>> calls = new ArrayList<>();
      long start = System.nanoTime();
      for (int i = 0; i < 24; i++) {
        calls.add(generateAsync(cluster.async().withDeadlineAfter(5, TimeUnit.SECONDS), SHORT));
      }
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);

      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
      assertThat(calls).allSatisfy(c -> assertThat(c.join().getServedBy().getDecodeWorker()).isNotEqualTo(dead));
      assertThat(breakerOpen(meters, dead)).isEqualTo(1.0);
      assertThat(cluster.worker(dead).inRotation()).isFalse();
    }
  }

  @Test
  void generate_prefillWorkerKilledUnderLoad_breakerOpensAndRequestsStayDisaggregatedOnTheOther() throws Exception {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    GenerateRequest longPrompt = GenerateRequest.newBuilder().setText("the quick brown fox jumps over")
        .setMaxTokens(3).build();
    try (Cluster cluster = new Cluster(2, 2, b -> b.meterRegistry(meters)
        .circuitBreaker(10, 1, 50f, Duration.ofMinutes(5)))) {
      String dead = cluster.prefill.get(0).address();
      cluster.prefill.get(0).close();

      List<CompletableFuture<GenerateResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 16; i++) {
        calls.add(generateAsync(cluster.async().withDeadlineAfter(5, TimeUnit.SECONDS), longPrompt));
      }
      CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);

      assertThat(calls).allSatisfy(c -> {
        assertThat(c.join().getServedBy().getMode()).isEqualTo(io.disagg.proto.v1.ServeMode.SERVE_MODE_DISAGGREGATED);
        assertThat(c.join().getServedBy().getPrefillWorker()).isEqualTo(cluster.prefill.get(1).address());
      });
      assertThat(breakerOpen(meters, dead)).isEqualTo(1.0);
    }
  }

  @Test
  void generate_stalledWorker_endsAtDeadlineAndOpenBreakerKeepsItOutUntilWaitIsOver() throws Exception {
    ManualClock clock = new ManualClock();
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (Cluster cluster = new Cluster(0, 2, b -> b.meterRegistry(meters).clock(clock)
        .requestTimeout(Duration.ofMillis(300))
        .circuitBreaker(10, 1, 50f, Duration.ofSeconds(30)))) {
      SimulatedDecodeWorker stalled = cluster.decode.get(0);
      stalled.stallAfterChunks = 0;

      long start = System.nanoTime();
      assertThatThrownBy(() -> cluster.blocking().generate(SHORT))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));
      assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(5));
      assertThat(breakerOpen(meters, stalled.address())).isEqualTo(1.0);

      // Health says the worker is fine; the open breaker still keeps it out of selection.
      stalled.stallAfterChunks = -1;
      cluster.poll();
      assertThat(cluster.worker(stalled.address()).inRotation()).isFalse();
      assertThat(cluster.worker(stalled.address()).outOfRotationReason()).contains("circuit breaker OPEN");
      assertThat(cluster.blocking().generate(SHORT).getServedBy().getDecodeWorker())
          .isEqualTo(cluster.decode.get(1).address());

      // After the open wait, a trial call goes through and closes the breaker again.
      clock.advance(Duration.ofSeconds(31));
      assertThat(cluster.blocking().generate(SHORT).getServedBy().getDecodeWorker()).isEqualTo(stalled.address());
      assertThat(meters.get("disagg.router.circuit_breaker_state")
          .tags("worker", stalled.address(), "state", "open").gauge().value()).isZero();
    }
  }

  @Test
  void generate_refusalsDoNotOpenBreaker() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (Cluster cluster = new Cluster(0, 1, b -> b.meterRegistry(meters)
        .circuitBreaker(10, 1, 50f, Duration.ofMinutes(5)))) {
      cluster.decode.get(0).refuseColocated = true;
      for (int i = 0; i < 3; i++) {
        assertThatThrownBy(() -> cluster.blocking().generate(SHORT))
            .isInstanceOfSatisfying(StatusRuntimeException.class,
                e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
      }

      assertThat(breakerOpen(meters, cluster.decode.get(0).address())).isZero();
      assertThat(cluster.worker(cluster.decode.get(0).address()).inRotation()).isTrue();
    }
  }

  @Test
  void generate_overRateLimit_refusedWithRetryHint() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (Cluster cluster = new Cluster(0, 1, b -> b.meterRegistry(meters).rateLimit(1))) {
      List<Status> refusals = new ArrayList<>();
      // Five requests within one second span at most two limiter periods: at most two are admitted.
      for (int i = 0; i < 5; i++) {
        try {
          cluster.blocking().generate(SHORT);
        } catch (StatusRuntimeException e) {
          refusals.add(e.getStatus());
        }
      }

      assertThat(refusals).hasSizeGreaterThanOrEqualTo(3).allSatisfy(s -> {
        assertThat(s.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(s.getDescription()).contains("rate limit of 1 requests/s").contains("retry after 1s");
      });
      assertThat(meters.get("disagg.router.rejected").tags("reason", "rate_limited").counter().count())
          .isEqualTo(refusals.size());
      assertThat(cluster.decode.get(0).decodeRequests).hasSize(5 - refusals.size());
    }
  }

  @Test
  void generate_bulkheadFull_refusesUntilASlotFrees() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> b.maxInFlight(1))) {
      SimulatedDecodeWorker decode = cluster.decode.get(0);
      decode.stallAfterChunks = 0;
      io.grpc.Context.CancellableContext firstContext = io.grpc.Context.current().withCancellation();
      CompletableFuture<GenerateResponse> first = firstContext.call(() -> generateAsync(cluster.async(), SHORT));
      String firstId = decode.decodeStarts.poll(10, TimeUnit.SECONDS);
      assertThat(firstId).isNotNull();

      assertThatThrownBy(() -> cluster.blocking().generate(SHORT))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(e.getStatus().getDescription()).contains("1 requests in flight").contains("retry after 1s");
          });

      firstContext.cancel(null); // the client gives up: the router cancels the decode and frees the slot
      assertThat(decode.cancelledDecodes.poll(10, TimeUnit.SECONDS)).isEqualTo(firstId);
      assertThatThrownBy(() -> first.get(10, TimeUnit.SECONDS)).hasCauseInstanceOf(StatusRuntimeException.class);
      decode.stallAfterChunks = -1;
      assertThat(cluster.blocking().generate(SHORT).getTokenIdsCount()).isEqualTo(3);
    }
  }
}
