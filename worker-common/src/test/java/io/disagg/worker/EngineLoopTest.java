package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class EngineLoopTest {

  /** An engine that reports every wake-up it sees until it is stopped. */
  private static final class CountingEngine {
    final BlockingQueue<String> seen = new ArrayBlockingQueue<>(16);
    final EngineLoop loop = new EngineLoop("test-engine", this::run);

    private void run() {
      try {
        while (true) {
          loop.lock();
          try {
            while (!loop.isStopping() && !loop.isSignalled()) {
              loop.await();
            }
            if (loop.isStopping()) {
              break;
            }
            loop.clearSignal();
          } finally {
            loop.unlock();
          }
          seen.add("woken");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        seen.add("stopped");
      }
    }
  }

  @Test
  void wakeup_reachesTheEngineThread_andCloseStopsItAndWaits() throws Exception {
    CountingEngine engine = new CountingEngine();
    engine.loop.start();

    engine.loop.wakeup();
    assertThat(engine.seen.poll(10, TimeUnit.SECONDS)).isEqualTo("woken");

    engine.loop.close();
    assertThat(engine.seen.poll()).isEqualTo("stopped"); // close() returned only after the thread ended
  }

  @Test
  void micros_isNeverNegative() {
    Instant t = Instant.parse("2025-01-01T00:00:00Z");

    assertThat(EngineLoop.micros(t, t.plusNanos(2_500_000))).isEqualTo(2_500);
    assertThat(EngineLoop.micros(t.plusSeconds(1), t)).isZero();
  }
}
