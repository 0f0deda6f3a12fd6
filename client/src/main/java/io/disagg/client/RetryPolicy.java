package io.disagg.client;

import java.time.Duration;
import java.util.random.RandomGenerator;

/**
 * When and how often the client retries a call that failed with {@code UNAVAILABLE}.
 *
 * <p>Only idempotent requests are retried: greedy ones (no sampling parameters or temperature 0) and seeded ones,
 * because only those give the same tokens when run again. A stream is retried only while it has produced no chunk;
 * after the first chunk a retry would repeat output the caller already saw. Every attempt shares the call's deadline.
 *
 * <p>Backoff before retry {@code n} (1-based) is {@code min(maxBackoff, initialBackoff * multiplier^(n-1))},
 * scaled by a uniformly random factor in {@code [1 - jitter, 1]} so that clients failed by the same outage do not
 * come back in lockstep.
 *
 * @param maxAttempts total attempts including the first (1 disables retries)
 * @param initialBackoff backoff before the first retry
 * @param maxBackoff cap on any single backoff
 * @param multiplier growth of the backoff per retry
 * @param jitter fraction of the backoff that is randomized, in {@code [0, 1]}
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double multiplier,
                          double jitter) {

    public RetryPolicy {
        if (maxAttempts < 1 || maxAttempts > 10) {
            throw new IllegalArgumentException("maxAttempts: %d (expected: 1..10)".formatted(maxAttempts));
        }
        if (initialBackoff.isNegative()) {
            throw new IllegalArgumentException("initialBackoff: %s (expected: >= 0)".formatted(initialBackoff));
        }
        if (maxBackoff.compareTo(initialBackoff) < 0) {
            throw new IllegalArgumentException(
                    "maxBackoff: %s (expected: >= initialBackoff %s)".formatted(maxBackoff, initialBackoff));
        }
        if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
            throw new IllegalArgumentException("multiplier: %s (expected: >= 1)".formatted(multiplier));
        }
        if (!(jitter >= 0.0 && jitter <= 1.0)) {
            throw new IllegalArgumentException("jitter: %s (expected: 0..1)".formatted(jitter));
        }
    }

    /** Never retry. */
    public static RetryPolicy none() {
        return new RetryPolicy(1, Duration.ZERO, Duration.ZERO, 1.0, 0.0);
    }

    /** Three attempts, 100 ms then 200 ms backoff (capped at 2 s), 20% jitter. */
    public static RetryPolicy defaults() {
        return new RetryPolicy(3, Duration.ofMillis(100), Duration.ofSeconds(2), 2.0, 0.2);
    }

    /** The same policy with a different number of attempts. */
    public RetryPolicy withMaxAttempts(int attempts) {
        return new RetryPolicy(attempts, initialBackoff, maxBackoff, multiplier, jitter);
    }

    /** The same policy with different backoff bounds. */
    public RetryPolicy withBackoff(Duration initial, Duration max) {
        return new RetryPolicy(maxAttempts, initial, max, multiplier, jitter);
    }

    /** The same policy with a different jitter fraction. */
    public RetryPolicy withJitter(double fraction) {
        return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, multiplier, fraction);
    }

    /**
     * The backoff before retry {@code retry} (1 for the first retry).
     *
     * @param random source of jitter; seed it in tests
     */
    public Duration backoff(int retry, RandomGenerator random) {
        if (retry < 1) {
            throw new IllegalArgumentException("retry: %d (expected: >= 1)".formatted(retry));
        }
        double base = initialBackoff.toNanos() * Math.pow(multiplier, retry - 1);
        double capped = Math.min(base, (double) maxBackoff.toNanos());
        double factor = 1.0 - jitter * random.nextDouble();
        return Duration.ofNanos((long) (capped * factor));
    }
}
