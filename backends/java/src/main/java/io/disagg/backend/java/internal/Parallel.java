package io.disagg.backend.java.internal;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits a range of independent work items (output rows, heads) over a fixed set of compute threads. The calling
 * thread does the first share itself; the others are parked worker threads woken for each call, which park again
 * when done, so an idle engine costs no CPU (this machine has two cores shared by everyone; spinning would steal
 * them). With one thread everything runs inline.
 *
 * <p>Not reentrant: one caller at a time (the backend's compute thread).
 */
final class Parallel implements AutoCloseable {

  /** Work on items {@code [start, end)}; {@code share} (below {@link #threads()}) picks per-thread scratch space. */
  @FunctionalInterface
  interface RangeTask {
    void run(int share, int start, int end);
  }

  private final Worker[] workers;
  private final AtomicInteger pending = new AtomicInteger();
  private final AtomicReference<Throwable> failure = new AtomicReference<>();
  private volatile Thread caller;
  private volatile boolean closed;

  Parallel(int threads, String namePrefix) {
    if (threads <= 0) {
      throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
    }
    workers = new Worker[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = new Worker(namePrefix + "-" + (i + 1));
      workers[i].start();
    }
  }

  int threads() {
    return workers.length + 1;
  }

  /**
   * Runs {@code task} over {@code [0, items)} split into at most {@link #threads()} contiguous shares, none smaller
   * than {@code minShare} items (small work runs inline: waking a thread costs more than it saves). Returns when
   * every share is done; rethrows the first failure.
   */
  void forRange(int items, int minShare, RangeTask task) {
    if (items <= 0) {
      return;
    }
    int shares = Math.min(threads(), Math.max(1, items / Math.max(1, minShare)));
    if (shares == 1) {
      task.run(0, 0, items);
      return;
    }
    if (closed) {
      throw new IllegalStateException("compute threads are shut down");
    }
    caller = Thread.currentThread();
    failure.set(null);
    pending.set(shares - 1);
    for (int s = 1; s < shares; s++) {
      workers[s - 1].submit(task, s, bound(items, shares, s), bound(items, shares, s + 1));
    }
    Throwable own = null;
    try {
      task.run(0, 0, bound(items, shares, 1));
    } catch (Throwable t) {
      own = t;
    }
    while (pending.get() > 0) {
      LockSupport.park(this);
    }
    Throwable first = own != null ? own : failure.get();
    if (first instanceof RuntimeException e) {
      throw e;
    }
    if (first instanceof Error e) {
      throw e;
    }
    if (first != null) {
      throw new IllegalStateException(first);
    }
  }

  private static int bound(int items, int shares, int share) {
    return (int) ((long) items * share / shares);
  }

  @Override
  public void close() {
    closed = true;
    for (Worker w : workers) {
      LockSupport.unpark(w);
    }
    for (Worker w : workers) {
      try {
        w.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private final class Worker extends Thread {
    private volatile RangeTask task;
    private int share;
    private int start;
    private int end;

    Worker(String name) {
      super(name);
      setDaemon(true);
    }

    void submit(RangeTask t, int index, int from, int to) {
      share = index;
      start = from;
      end = to;
      task = t; // volatile write publishes start and end
      LockSupport.unpark(this);
    }

    @Override
    public void run() {
      while (true) {
        RangeTask t = task;
        if (t == null) {
          if (closed) {
            return;
          }
          LockSupport.park(this);
          continue;
        }
        try {
          t.run(share, start, end);
        } catch (Throwable e) {
          failure.compareAndSet(null, e);
        }
        task = null;
        if (pending.decrementAndGet() == 0) {
          LockSupport.unpark(caller);
        }
      }
    }
  }
}
