package io.disagg.client.internal;

import io.disagg.client.RetryPolicy;
import io.grpc.Channel;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * What every call of one client shares.
 *
 * @param channel where calls go (already carrying the auth interceptor)
 * @param scheduler runs retry attempts after their backoff
 * @param ticker monotonic nanoseconds for client-side latency
 * @param random jitter source; calls synchronize on it because generators are not thread-safe
 * @param retry the retry policy
 * @param deadline per call (covering all attempts), or {@link Duration#ZERO} for none
 */
public record CallSettings(Channel channel, ScheduledExecutorService scheduler, LongSupplier ticker,
                           RandomGenerator random, RetryPolicy retry, Duration deadline) {

    public CallSettings {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(scheduler, "scheduler");
        Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(retry, "retry");
        Objects.requireNonNull(deadline, "deadline");
    }

    public CallSettings withDeadline(Duration d) {
        return new CallSettings(channel, scheduler, ticker, random, retry, d);
    }

    Duration backoff(int retryNumber) {
        synchronized (random) {
            return retry.backoff(retryNumber, random);
        }
    }
}
