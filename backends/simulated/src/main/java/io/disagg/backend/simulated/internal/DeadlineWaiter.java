package io.disagg.backend.simulated.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Blocks the calling thread until a {@link System#nanoTime()} deadline without spinning: it parks, and because a park
 * wakes late by the OS timer slack plus scheduling delay, it parks once for the remaining time less the lateness it
 * has observed (an exponentially weighted mean shared by every waiter in the JVM, since they share the scheduler). Many threads (one per simulated backend) can wait at
 * once; each costs a parked thread, no CPU. Thread-safe.
 */
public final class DeadlineWaiter {
  /** Lateness estimates are clamped to this, so one descheduled thread cannot make every later wait return early. */
  static final long MAX_LATENESS_NANOS = 2_000_000;

  /** Parks shorter than this are not worth their wake-up cost: the wait returns instead. */
  static final long MIN_PARK_NANOS = 10_000;

  /** The JVM-wide waiter every simulated backend shares. */
  public static final DeadlineWaiter SHARED = new DeadlineWaiter();

  // exponentially weighted mean of how late a park returns, in nanoseconds (weight 1/16 per observation)
  private final AtomicLong lateness = new AtomicLong(50_000);

  /**
   * Waits until about {@code deadline}: one timed park of the remaining time less the expected lateness, so that the
   * wake-up lands on the deadline on average; returns at once when that is under {@link #MIN_PARK_NANOS} (returning
   * that little early beats parking). A wake-up before the park's end (an unpark or a spurious wake-up) parks again.
   */
  public void awaitDeadline(long deadline) {
    while (true) {
      long now = System.nanoTime();
      long parkFor = deadline - now - lateness.get();
      if (parkFor < MIN_PARK_NANOS) {
        return;
      }
      long target = now + parkFor;
      LockSupport.parkNanos(parkFor);
      long woke = System.nanoTime();
      if (woke >= target) {
        record(woke - target);
        return;
      }
    }
  }

  private void record(long observed) {
    long sample = Math.min(observed, MAX_LATENESS_NANOS);
    lateness.getAndUpdate(old -> old + (sample - old) / 16);
  }

  /** The current lateness estimate, for benchmark output. */
  public long expectedLatenessNanos() {
    return lateness.get();
  }
}
