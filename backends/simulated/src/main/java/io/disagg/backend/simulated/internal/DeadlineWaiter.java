package io.disagg.backend.simulated.internal;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Blocks the calling thread until a {@link System#nanoTime()} deadline without spinning: it parks, and because a park
 * wakes late by the OS timer slack plus scheduling delay, it parks for the remaining time less the lateness it has
 * observed (an exponentially weighted mean shared by every waiter in the JVM, since they share the scheduler), and
 * returns once waking again would be later than returning now. Many threads (one per simulated backend) can wait at
 * once; each costs a parked thread, no CPU. Thread-safe.
 */
public final class DeadlineWaiter {
  /** Lateness estimates are clamped to this, so one descheduled thread cannot make every later wait return early. */
  static final long MAX_LATENESS_NANOS = 2_000_000;

  /** The JVM-wide waiter every simulated backend shares. */
  public static final DeadlineWaiter SHARED = new DeadlineWaiter();

  // exponentially weighted mean of how late a park returns, in nanoseconds (weight 1/16 per observation)
  private final AtomicLong lateness = new AtomicLong(50_000);

  /** Waits until {@code System.nanoTime() >= deadline - expected lateness}; returns at once for a past deadline. */
  public void awaitDeadline(long deadline) {
    while (true) {
      long now = System.nanoTime();
      long remaining = deadline - now;
      long late = lateness.get();
      if (remaining <= late / 2) {
        return; // parking again would most likely overshoot by more than returning now undershoots
      }
      long target = now + Math.max(remaining - late, 0);
      LockSupport.parkNanos(Math.max(remaining - late, 1));
      long woke = System.nanoTime();
      if (woke >= target) { // a timed-out park (an early return is an unpark or a spurious wake-up: no sample)
        record(woke - target);
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
