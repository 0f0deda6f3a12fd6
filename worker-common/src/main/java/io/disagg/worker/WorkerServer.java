package io.disagg.worker;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** What {@link WorkerCli#serve} needs of a running worker server to announce it and shut it down. */
public interface WorkerServer extends AutoCloseable {

  String workerId();

  /** The line printed to stdout once serving, which launchers and tests parse. */
  String readyLine();

  /** Stops taking new work; what is queued or running goes on. */
  void drain();

  /** Whether nothing is queued, running or (prefill) being pushed. */
  boolean isIdle();

  /** Waits until {@link #isIdle()}, up to {@code timeout}; true if it got there. */
  default boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!isIdle()) {
      if (System.nanoTime() >= deadline) {
        return false;
      }
      // a coarse poll is fine here: this runs once, at shutdown
      TimeUnit.MILLISECONDS.sleep(20);
    }
    return true;
  }

  /** Stops serving and closes the backend. */
  @Override
  void close();
}
