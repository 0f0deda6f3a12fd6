package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class RateMeterTest {

  @Test
  void perSecond_averagesOverTheWindow_andForgetsOlderSeconds() {
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2025-01-01T00:00:00Z"));
    RateMeter meter = new RateMeter(now::get, 10);

    meter.record(30);
    now.updateAndGet(t -> t.plusMillis(500));
    meter.record(20);
    assertThat(meter.perSecond()).isEqualTo(5.0);

    now.updateAndGet(t -> t.plusSeconds(5));
    meter.record(10);
    assertThat(meter.perSecond()).isEqualTo(6.0);

    now.updateAndGet(t -> t.plusSeconds(5));
    assertThat(meter.perSecond()).isEqualTo(1.0);
  }

  @Test
  void nonPositiveWindow_isRejected() {
    assertThatThrownBy(() -> new RateMeter(Clock.systemUTC(), 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("windowSeconds: 0 (expected: > 0)");
  }
}
