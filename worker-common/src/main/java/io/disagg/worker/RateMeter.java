package io.disagg.worker;

import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.Objects;

/** Tokens per second over a sliding window, in one-second buckets read from an injected time source. Thread-safe. */
public final class RateMeter {
  private final InstantSource clock;
  private final int windowSeconds;
  private final ArrayDeque<long[]> buckets = new ArrayDeque<>(); // {second, count}

  /** @param clock the time source (a {@link java.time.Clock} will do) */
  public RateMeter(InstantSource clock, int windowSeconds) {
    this.clock = Objects.requireNonNull(clock, "clock");
    if (windowSeconds <= 0) {
      throw new IllegalArgumentException(String.format("windowSeconds: %s (expected: > 0)", windowSeconds));
    }
    this.windowSeconds = windowSeconds;
  }

  /** Adds {@code count} tokens to the current second. */
  public synchronized void record(long count) {
    long now = clock.millis() / 1000;
    long[] last = buckets.peekLast();
    if (last != null && last[0] == now) {
      last[1] += count;
    } else {
      buckets.addLast(new long[] {now, count});
    }
    evict(now);
  }

  /** Tokens per second averaged over the whole window (seconds without tokens count as zero). */
  public synchronized double perSecond() {
    long now = clock.millis() / 1000;
    evict(now);
    long total = 0;
    for (long[] b : buckets) {
      total += b[1];
    }
    return (double) total / windowSeconds;
  }

  private void evict(long now) {
    while (!buckets.isEmpty() && buckets.peekFirst()[0] <= now - windowSeconds) {
      buckets.pollFirst();
    }
  }
}
