package io.disagg.worker;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An engine's thread and the lock and condition it sleeps on, with the two flags every engine keeps under that lock:
 * <em>signalled</em> (something changed, look again) and <em>stopping</em>. The engine guards its own queue with
 * the same lock ({@link #lock()}, {@link #unlock()}); the methods that say "caller holds the lock" check it with an
 * assertion. Other threads call {@link #wakeup()}; {@link #close()} stops the thread and waits for it.
 *
 * <p>The engine thread never spins: with nothing to do it blocks in {@link #await()}.
 */
public final class EngineLoop implements AutoCloseable {
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition work = lock.newCondition();
  private boolean signalled; // guarded by lock
  private boolean stopping; // guarded by lock
  private final Thread thread;

  /** A daemon platform thread named {@code threadName} that will run {@code body}; not started yet. */
  public EngineLoop(String threadName, Runnable body) {
    this.thread = Thread.ofPlatform().name(Objects.requireNonNull(threadName, "threadName")).daemon()
        .unstarted(Objects.requireNonNull(body, "body"));
  }

  public void start() {
    thread.start();
  }

  public void lock() {
    lock.lock();
  }

  public void unlock() {
    lock.unlock();
  }

  /** Whether the engine is stopping; caller holds the lock. */
  public boolean isStopping() {
    assert lock.isHeldByCurrentThread();
    return stopping;
  }

  /** Marks the engine stopping and wakes it; caller holds the lock. */
  public void markStopping() {
    assert lock.isHeldByCurrentThread();
    stopping = true;
    work.signal();
  }

  /** Whether something changed since {@link #clearSignal()}; caller holds the lock. */
  public boolean isSignalled() {
    assert lock.isHeldByCurrentThread();
    return signalled;
  }

  /** Caller holds the lock. */
  public void clearSignal() {
    assert lock.isHeldByCurrentThread();
    signalled = false;
  }

  /** Wakes the engine thread without marking a change (new work it finds in its queue); caller holds the lock. */
  public void signal() {
    assert lock.isHeldByCurrentThread();
    work.signal();
  }

  /** Marks a change and wakes the engine thread; caller holds the lock. */
  public void wakeupLocked() {
    assert lock.isHeldByCurrentThread();
    signalled = true;
    work.signal();
  }

  /** Blocks the engine thread until signalled; caller holds the lock (released while waiting). */
  public void await() throws InterruptedException {
    work.await();
  }

  /** Tells the engine something changed (a call was cancelled, blocks were freed, a stream became writable). */
  public void wakeup() {
    lock.lock();
    try {
      wakeupLocked();
    } finally {
      lock.unlock();
    }
  }

  /** Stops the engine thread and waits up to 10 seconds for it to finish. */
  @Override
  public void close() {
    lock.lock();
    try {
      markStopping();
    } finally {
      lock.unlock();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(10));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Microseconds from {@code from} to {@code to}, never negative. */
  public static long micros(Instant from, Instant to) {
    return Math.max(0, Duration.between(from, to).toNanos() / 1000);
  }
}
