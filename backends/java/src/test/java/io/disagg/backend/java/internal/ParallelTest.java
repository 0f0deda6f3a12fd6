package io.disagg.backend.java.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {

  @Test
  void forRange_everyItemOnce_acrossManyCalls() {
    try (Parallel p = new Parallel(3, "test")) {
      for (int round = 0; round < 500; round++) {
        int items = 1 + round % 97;
        AtomicIntegerArray hits = new AtomicIntegerArray(items);
        p.forRange(items, 1, (share, from, to) -> {
          assertThat(share).isBetween(0, 2);
          for (int i = from; i < to; i++) {
            hits.incrementAndGet(i);
          }
        });
        for (int i = 0; i < items; i++) {
          assertThat(hits.get(i)).isEqualTo(1);
        }
      }
    }
  }

  @Test
  void forRange_smallWork_runsInlineOnCaller() {
    try (Parallel p = new Parallel(2, "test")) {
      Thread caller = Thread.currentThread();
      p.forRange(10, 100, (share, from, to) -> {
        assertThat(Thread.currentThread()).isSameAs(caller);
        assertThat(from).isZero();
        assertThat(to).isEqualTo(10);
      });
    }
  }

  @Test
  void forRange_workerFailure_rethrownOnCaller_andPoolStillUsable() {
    try (Parallel p = new Parallel(2, "test")) {
      assertThatThrownBy(() -> p.forRange(10, 1, (share, from, to) -> {
        if (share == 1) {
          throw new IllegalStateException("boom");
        }
      })).isInstanceOf(IllegalStateException.class).hasMessage("boom");
      AtomicIntegerArray hits = new AtomicIntegerArray(10);
      p.forRange(10, 1, (share, from, to) -> {
        for (int i = from; i < to; i++) {
          hits.incrementAndGet(i);
        }
      });
      assertThat(hits.get(9)).isEqualTo(1);
    }
  }

  @Test
  void idleWorkers_areParked() throws Exception {
    try (Parallel p = new Parallel(2, "parked-check")) {
      p.forRange(4, 1, (share, from, to) -> {});
      Thread worker = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals("parked-check-1")).findFirst().orElseThrow();
      // A worker that has finished its share parks; it never spins. Poll its state (yielding) within a bound.
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (worker.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
        Thread.yield();
      }
      assertThat(worker.getState()).isEqualTo(Thread.State.WAITING);
    }
  }
}
