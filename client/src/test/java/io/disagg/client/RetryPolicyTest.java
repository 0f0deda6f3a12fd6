package io.disagg.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {

    /** A generator whose nextDouble is fixed, so jittered backoffs can be computed by hand. */
    private static RandomGenerator fixed(double value) {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                throw new UnsupportedOperationException();
            }

            @Override
            public double nextDouble() {
                return value;
            }
        };
    }

    @Test
    void backoff_growsByMultiplierUntilCap() {
        var policy = new RetryPolicy(5, Duration.ofMillis(100), Duration.ofMillis(350), 2.0, 0.0);

        assertThat(policy.backoff(1, fixed(0.9))).isEqualTo(Duration.ofMillis(100));
        assertThat(policy.backoff(2, fixed(0.9))).isEqualTo(Duration.ofMillis(200));
        assertThat(policy.backoff(3, fixed(0.9))).isEqualTo(Duration.ofMillis(350));
        assertThat(policy.backoff(4, fixed(0.9))).isEqualTo(Duration.ofMillis(350));
    }

    @Test
    void backoff_jitterScalesDownByRandomFraction() {
        var policy = new RetryPolicy(3, Duration.ofMillis(100), Duration.ofSeconds(1), 2.0, 0.2);

        // 200 ms * (1 - 0.2 * 0.5) = 180 ms
        assertThat(policy.backoff(2, fixed(0.5))).isEqualTo(Duration.ofMillis(180));
        assertThat(policy.backoff(2, fixed(0.0))).isEqualTo(Duration.ofMillis(200));
    }

    @Test
    void constructor_invalidValues_failWithExpectedRange() {
        assertThatThrownBy(() -> new RetryPolicy(0, Duration.ZERO, Duration.ZERO, 1, 0))
                .hasMessage("maxAttempts: 0 (expected: 1..10)");
        assertThatThrownBy(() -> new RetryPolicy(2, Duration.ofSeconds(2), Duration.ofSeconds(1), 1, 0))
                .hasMessage("maxBackoff: PT1S (expected: >= initialBackoff PT2S)");
        assertThatThrownBy(() -> new RetryPolicy(2, Duration.ZERO, Duration.ZERO, 0.5, 0))
                .hasMessage("multiplier: 0.5 (expected: >= 1)");
        assertThatThrownBy(() -> new RetryPolicy(2, Duration.ZERO, Duration.ZERO, 1, 1.5))
                .hasMessage("jitter: 1.5 (expected: 0..1)");
        assertThatThrownBy(() -> RetryPolicy.defaults().backoff(0, fixed(0)))
                .hasMessage("retry: 0 (expected: >= 1)");
    }

    @Test
    void none_neverRetries() {
        assertThat(RetryPolicy.none().maxAttempts()).isEqualTo(1);
    }
}
