package io.disagg.router.internal;

import io.disagg.router.WorkerRole;
import io.github.resilience4j.bulkhead.Bulkhead;
import io.github.resilience4j.bulkhead.BulkheadConfig;
import io.github.resilience4j.bulkhead.BulkheadRegistry;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerRegistry;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.github.resilience4j.ratelimiter.RateLimiterConfig;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Clock;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * The router's Resilience4j pieces, built once from the settings:
 * <ul>
 *   <li>one count-based {@link CircuitBreaker} per worker, recording UNAVAILABLE, DEADLINE_EXCEEDED and INTERNAL as
 *       failures; RESOURCE_EXHAUSTED and client errors are answers from a live worker and count as successes;</li>
 *   <li>a {@link Retry} for the stages that are safe to repeat (ReserveKv, a Prefill that failed before its KV
 *       transfer started): exponential backoff with jitter from an injected random source;</li>
 *   <li>the front door's {@link Bulkhead} (requests in flight) and optional {@link RateLimiter} (requests/s).</li>
 * </ul>
 */
public final class Resilience {
  private final CircuitBreakerRegistry breakers;
  private final Retry retry;
  private final BulkheadRegistry bulkheads;
  private final Bulkhead bulkhead;
  private final Optional<RateLimiter> rateLimiter;
  private final Settings settings;

  /**
   * @param breakerWindow calls in the count-based window
   * @param breakerMinimumCalls calls recorded before the failure rate is evaluated
   * @param breakerFailureRate percentage of failed calls that opens the breaker
   * @param breakerOpenDuration how long an open breaker keeps the worker out before trial calls
   * @param maxAttempts attempts per retryable stage (the first one included)
   * @param backoffInitial delay before the second attempt
   * @param backoffMax cap on any delay
   * @param maxConcurrentRequests front-door bulkhead size
   * @param rateLimit requests per second admitted, 0 for no limit
   * @param clock the breakers' clock (open duration)
   * @param random jitter source
   */
  public record Settings(int breakerWindow, int breakerMinimumCalls, float breakerFailureRate,
      Duration breakerOpenDuration, int maxAttempts, Duration backoffInitial, Duration backoffMax,
      int maxConcurrentRequests, int rateLimit, Clock clock, RandomGenerator random) {
    public Settings {
      Objects.requireNonNull(breakerOpenDuration, "breakerOpenDuration");
      Objects.requireNonNull(backoffInitial, "backoffInitial");
      Objects.requireNonNull(backoffMax, "backoffMax");
      Objects.requireNonNull(clock, "clock");
      Objects.requireNonNull(random, "random");
    }
  }

  /** Jitter: each delay is drawn uniformly within ±50% of the exponential step, so retries do not move in lockstep. */
  static final double JITTER = 0.5;

  public Resilience(Settings s) {
    this.settings = s;
    CircuitBreakerConfig breakerConfig = CircuitBreakerConfig.custom()
        .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
        .slidingWindowSize(s.breakerWindow())
        .minimumNumberOfCalls(s.breakerMinimumCalls())
        .failureRateThreshold(s.breakerFailureRate())
        .waitDurationInOpenState(s.breakerOpenDuration())
        .permittedNumberOfCallsInHalfOpenState(Math.max(1, Math.min(3, s.breakerMinimumCalls())))
        .recordException(Resilience::countsAgainstWorker)
        .clock(s.clock())
        .build();
    this.breakers = CircuitBreakerRegistry.of(breakerConfig);
    RetryConfig retryConfig = RetryConfig.custom()
        .maxAttempts(s.maxAttempts())
        .retryOnException(Resilience::retryable)
        .intervalFunction(attempt -> backoffMillis(attempt))
        .failAfterMaxAttempts(false)
        .build();
    this.retry = Retry.of("worker-stage", retryConfig);
    this.bulkheads = BulkheadRegistry.of(BulkheadConfig.custom()
        .maxConcurrentCalls(s.maxConcurrentRequests())
        .maxWaitDuration(Duration.ZERO)
        .build());
    this.bulkhead = bulkheads.bulkhead("front-door");
    this.rateLimiter = s.rateLimit() <= 0 ? Optional.empty() : Optional.of(RateLimiter.of("front-door",
        RateLimiterConfig.custom()
            .limitForPeriod(s.rateLimit())
            .limitRefreshPeriod(Duration.ofSeconds(1))
            .timeoutDuration(Duration.ZERO)
            .build()));
  }

  /**
   * Delay before attempt {@code attempt + 1}: {@code initial × 2^(attempt-1)}, capped, with ±50% jitter. Package-private
   * so tests check the schedule with a seeded random source.
   */
  long backoffMillis(int attempt) {
    double base = settings.backoffInitial().toMillis() * Math.pow(2, Math.max(0, attempt - 1));
    double capped = Math.min(base, settings.backoffMax().toMillis());
    double jittered = capped * (1 - JITTER + 2 * JITTER * settings.random().nextDouble());
    return Math.max(0L, Math.round(Math.min(jittered, settings.backoffMax().toMillis())));
  }

  CircuitBreaker breaker(WorkerRole role, String id) {
    return breakers.circuitBreaker(role.name().toLowerCase(Locale.ROOT) + "/" + id);
  }

  public CircuitBreakerRegistry breakers() {
    return breakers;
  }

  public Retry retry() {
    return retry;
  }

  public BulkheadRegistry bulkheads() {
    return bulkheads;
  }

  public Bulkhead bulkhead() {
    return bulkhead;
  }

  public Optional<RateLimiter> rateLimiter() {
    return rateLimiter;
  }

  public Settings settings() {
    return settings;
  }

  /** Failures that say the worker (or the path to it) is broken, as opposed to busy or asked something invalid. */
  static boolean countsAgainstWorker(Throwable t) {
    return switch (Status.fromThrowable(t).getCode()) {
      case UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL -> true;
      default -> false;
    };
  }

  /** A worker that refused (no room) or could not be reached did nothing: the stage may run again elsewhere. */
  static boolean retryable(Throwable t) {
    return t instanceof StatusRuntimeException e && switch (e.getStatus().getCode()) {
      case RESOURCE_EXHAUSTED, UNAVAILABLE -> true;
      default -> false;
    };
  }
}
