package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class RateMeterTest {

  /** A clock the test moves by hand. */
  private static final class ManualClock extends Clock {
    private Instant now = Instant.parse("2025-01-01T00:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  @Test
  void perSecond_averagesOverTheWindow_andForgetsOlderSeconds() {
    ManualClock clock = new ManualClock();
    RateMeter meter = new RateMeter(clock, 10);

    meter.record(30);
    clock.advance(Duration.ofMillis(500));
    meter.record(20);
    assertThat(meter.perSecond()).isEqualTo(5.0);

    clock.advance(Duration.ofSeconds(5));
    meter.record(10);
    assertThat(meter.perSecond()).isEqualTo(6.0);

    clock.advance(Duration.ofSeconds(5));
    assertThat(meter.perSecond()).isEqualTo(1.0);
  }

  @Test
  void nonPositiveWindow_isRejected() {
    assertThatThrownBy(() -> new RateMeter(Clock.systemUTC(), 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("windowSeconds: 0 (expected: > 0)");
  }
}
