package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.router.WorkerRole;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class ResilienceTest {
  /** A wall clock that moves only when the test says so. */
  private static final class ManualClock extends Clock {
    private Instant now = Instant.parse("2026-01-01T00:00:00Z");

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
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

  private final ManualClock clock = new ManualClock();

  private Resilience resilience(RandomGenerator random) {
    return new Resilience(new Resilience.Settings(4, 2, 50f, Duration.ofSeconds(10), 4, Duration.ofMillis(100),
        Duration.ofMillis(300), 8, 0, clock, random));
  }

  private static void fail(CircuitBreaker breaker, Status.Code code) {
    breaker.acquirePermission();
    breaker.onError(1, TimeUnit.MILLISECONDS, Status.fromCode(code).asRuntimeException());
  }

  @Test
  void breaker_unavailableWorker_opensAndHalfOpensAfterWait() {
    Resilience r = resilience(new SplittableRandom(1));
    CircuitBreaker breaker = r.breaker(WorkerRole.DECODE, "d0");

    fail(breaker, Status.Code.UNAVAILABLE);
    fail(breaker, Status.Code.DEADLINE_EXCEEDED);

    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
    assertThat(breaker.tryAcquirePermission()).isFalse();
    clock.advance(Duration.ofSeconds(11));
    assertThat(breaker.tryAcquirePermission()).isTrue();
    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
  }

  @Test
  void breaker_refusalsAndClientErrors_keepItClosed() {
    Resilience r = resilience(new SplittableRandom(1));
    CircuitBreaker breaker = r.breaker(WorkerRole.DECODE, "d0");

    for (int i = 0; i < 4; i++) {
      fail(breaker, i % 2 == 0 ? Status.Code.RESOURCE_EXHAUSTED : Status.Code.INVALID_ARGUMENT);
    }

    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.CLOSED);
    assertThat(breaker.getMetrics().getNumberOfFailedCalls()).isZero();
  }

  @Test
  void breaker_internalErrors_open() {
    CircuitBreaker breaker = resilience(new SplittableRandom(1)).breaker(WorkerRole.PREFILL, "p0");

    fail(breaker, Status.Code.INTERNAL);
    fail(breaker, Status.Code.INTERNAL);

    assertThat(breaker.getState()).isEqualTo(CircuitBreaker.State.OPEN);
  }

  @Test
  void backoff_growsExponentiallyWithJitterAndCap() {
    Resilience r = resilience(new SplittableRandom(42));

    for (int i = 0; i < 200; i++) {
      assertThat(r.backoffMillis(1)).isBetween(50L, 150L);
      assertThat(r.backoffMillis(2)).isBetween(100L, 300L);
      assertThat(r.backoffMillis(5)).isBetween(150L, 300L);
    }
  }

  @Test
  void backoff_sameSeed_sameSchedule() {
    Resilience a = resilience(new SplittableRandom(7));
    Resilience b = resilience(new SplittableRandom(7));

    for (int attempt = 1; attempt <= 3; attempt++) {
      assertThat(a.backoffMillis(attempt)).isEqualTo(b.backoffMillis(attempt));
    }
  }

  @Test
  void retry_onlyRefusalsAndUnreachable_areRetried() {
    Resilience r = resilience(new SplittableRandom(1));
    var context = r.retry().asyncContext();

    assertThat(context.onError(Status.INVALID_ARGUMENT.asRuntimeException())).isNegative();
    var again = r.retry().asyncContext();
    assertThat(again.onError(Status.RESOURCE_EXHAUSTED.asRuntimeException())).isBetween(50L, 150L);
    assertThat(again.onError(Status.UNAVAILABLE.asRuntimeException())).isBetween(100L, 300L);
    assertThat(again.onError(Status.UNAVAILABLE.asRuntimeException())).isBetween(150L, 300L);
    assertThat(again.onError(Status.UNAVAILABLE.asRuntimeException())).isNegative(); // 4 attempts used
  }
}
