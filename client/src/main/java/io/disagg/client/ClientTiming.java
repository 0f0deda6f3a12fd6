package io.disagg.client;

import java.time.Duration;

/**
 * Latency as this client saw it, measured with the client's ticker from the first attempt's start, so it includes
 * the network and any retry backoff that the router's {@link TimingBreakdown} cannot see.
 *
 * @param firstToken until the first message carrying tokens arrived; for unary calls the whole response, so equal to
 *     {@code total}; {@link Duration#ZERO} when no token arrived
 * @param total until the final message arrived
 * @param attempts calls made, 1 unless the retry policy retried
 */
public record ClientTiming(Duration firstToken, Duration total, int attempts) {

    public ClientTiming {
        if (attempts < 1) {
            throw new IllegalArgumentException("attempts: %d (expected: >= 1)".formatted(attempts));
        }
    }
}
