package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import org.junit.jupiter.api.Test;

class CostTrackerTest {
  private final CostTracker tracker = new CostTracker(0.5, 1e9, 1000);

  private static WorkerSnapshot worker(String id, WorkerRole role, double recentTokensPerSecond, long bytesPerToken) {
    return new WorkerSnapshot(id, role, id, true, "", "f", "", 0, 0, 0, 0, 0, 0, recentTokensPerSecond, 0, 0, 0,
        bytesPerToken);
  }

  private final WorkerSnapshot p0 = worker("p0", WorkerRole.PREFILL, 0, 0);
  private final WorkerSnapshot d0 = worker("d0", WorkerRole.DECODE, 0, 0);

  @Test
  void bandwidth_unmeasuredPath_usesPrior() {
    assertThat(tracker.kvBandwidthBytesPerSecond(p0, d0)).isEqualTo(1e9);
    assertThat(tracker.measuredBandwidth("p0", "d0")).isEmpty();
  }

  @Test
  void bandwidth_measuredTransfers_averageExponentially() {
    tracker.recordTransfer("p0", "d0", 1_000_000, 1_000, 100); // 1 GB/s
    tracker.recordTransfer("p0", "d0", 1_000_000, 10_000, 100); // 100 MB/s

    // Seconds per byte, seeded by the first sample, then halfway (alpha 0.5) to the second: 5.5 ns/byte.
    assertThat(tracker.kvBandwidthBytesPerSecond(p0, d0)).isCloseTo(1 / 5.5e-9, within(1.0));
    assertThat(tracker.kvBandwidthBytesPerSecond(p0, worker("d1", WorkerRole.DECODE, 0, 0))).isEqualTo(1e9);
  }

  @Test
  void bandwidth_transferWithoutTiming_isIgnored() {
    tracker.recordTransfer("p0", "d0", 1_000_000, 0, 100);

    assertThat(tracker.measuredBandwidth("p0", "d0")).isEmpty();
  }

  @Test
  void bytesPerToken_reportedByWorker_beatsMeasured() {
    tracker.recordTransfer("p0", "d0", 1_000_000, 1_000, 100);

    assertThat(tracker.kvBytesPerToken(p0, d0)).isEqualTo(10_000);
    assertThat(tracker.kvBytesPerToken(p0, worker("d0", WorkerRole.DECODE, 0, 4096))).isEqualTo(4096);
    assertThat(tracker.kvBytesPerToken(p0, worker("d9", WorkerRole.DECODE, 0, 0))).isZero();
  }

  @Test
  void prefillCost_measuredBeatsHintBeatsPrior() {
    WorkerSnapshot hinted = worker("p0", WorkerRole.PREFILL, 4000, 0);
    assertThat(tracker.prefillSecondsPerToken(p0)).isEqualTo(1e-3);
    assertThat(tracker.prefillSecondsPerToken(hinted)).isEqualTo(2.5e-4);

    tracker.recordPrefill("p0", WorkerRole.PREFILL, 100, 10_000);

    assertThat(tracker.prefillSecondsPerToken(hinted)).isCloseTo(1e-4, within(1e-12));
  }

  @Test
  void prefillCost_decodeThroughputHint_isIgnored() {
    // A decode worker's tokens/s counts generated tokens, not prompt tokens.
    assertThat(tracker.prefillSecondsPerToken(worker("d0", WorkerRole.DECODE, 50, 0))).isEqualTo(1e-3);
  }
}
