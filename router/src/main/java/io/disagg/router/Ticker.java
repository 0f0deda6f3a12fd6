package io.disagg.router;

/**
 * A monotonic nanosecond source. The router measures every timing it reports through one, so tests drive time by hand
 * instead of sleeping.
 */
@FunctionalInterface
public interface Ticker {

  /** Nanoseconds from an arbitrary origin; only differences are meaningful. */
  long nanoTime();

  /** The JVM's monotonic clock. */
  static Ticker system() {
    return System::nanoTime;
  }
}
