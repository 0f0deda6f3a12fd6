package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.ServeMode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The cost policy with injected stats: every number below is chosen so the predicted times are easy to check by hand
 * (1000 prefill tokens/s = 1ms per token; 1 MB/s of bandwidth with 1000 bytes per token = 1ms per token moved).
 */
class CostModelClassifierTest {
  private static final CostModelClassifier POLICY = CostModelClassifier.builder()
      .hysteresis(0.2)
      .batchStallWeight(0.1)
      .overhead(Duration.ofMillis(2))
      .build();
  /** Fast path: 1 GB/s, 1000 bytes per token → 1µs per token. */
  private static final CostStats FAST_PATH = CostStats.fixed(1e9, 1000, 1000);
  /** Slow path: 100 kB/s → 10ms per token moved. */
  private static final CostStats SLOW_PATH = CostStats.fixed(1e5, 1000, 1000);

  private static final WorkerSnapshot PREFILL = Snapshots.idle("p0", WorkerRole.PREFILL);

  private static WorkerSnapshot decodeRunning(int running) {
    return Snapshots.of("d0", WorkerRole.DECODE, running, 0, running, 100, 100, 0);
  }

  private static ClassifierInput input(int promptTokens, WorkerSnapshot prefill, WorkerSnapshot decode,
      Map<String, Integer> cached, CostStats stats) {
    return new ClassifierInput(new RequestFacts("r", promptTokens, 16, 0), List.of(prefill), List.of(decode), cached,
        stats);
  }

  @Test
  void classify_shortPromptIdleDecode_colocates() {
    ServeDecision d = POLICY.classify(input(8, PREFILL, decodeRunning(0), Map.of(), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.COLOCATED_CHEAPER));
  }

  @Test
  void classify_shortPromptBusyDecode_colocates() {
    // 8 tokens: 8ms locally plus a stall of 0.1 × 4 × 8ms = 3.2ms, against 8ms + 2ms overhead remotely: 11.2ms vs
    // 10ms × 1.2 = 12ms. A short prefill costs a batch of four little; the transfer's fixed cost is not worth it.
    ServeDecision d = POLICY.classify(input(8, PREFILL, decodeRunning(4), Map.of(), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.COLOCATED_CHEAPER));
  }

  @Test
  void classify_fullyCachedLongPrompt_colocates() {
    ServeDecision d = POLICY.classify(input(4000, PREFILL, decodeRunning(32), Map.of("d0", 4000), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.FULLY_CACHED));
  }

  @Test
  void classify_mostlyCachedPrompt_colocatesWhereUncachedWouldDisaggregate() {
    WorkerSnapshot busy = decodeRunning(16);

    assertThat(POLICY.classify(input(1000, PREFILL, busy, Map.of(), FAST_PATH)).mode())
        .isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
    assertThat(POLICY.classify(input(1000, PREFILL, busy, Map.of("d0", 990), FAST_PATH)))
        .isEqualTo(ServeDecision.colocated(ServeReasons.COLOCATED_CHEAPER));
  }

  @Test
  void classify_longPromptBusyDecodeFastPath_disaggregatesToProtectBatch() {
    // 1000 tokens: local 1s + stall 0.1 × 16 × 1s = 2.6s; remote 1s + 1ms transfer + 2ms = 1.003s.
    ServeDecision d = POLICY.classify(input(1000, PREFILL, decodeRunning(16), Map.of(), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.disaggregated(ServeReasons.PROTECTS_DECODE_BATCH));
  }

  @Test
  void classify_slowTransferPath_colocates() {
    // Same request and loads as above; moving 1000 tokens at 10ms each (10s) now dominates.
    ServeDecision d = POLICY.classify(input(1000, PREFILL, decodeRunning(16), Map.of(), SLOW_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.TRANSFER_TOO_SLOW));
  }

  @Test
  void classify_longPrefillQueue_colocates() {
    WorkerSnapshot queued = Snapshots.of("p0", WorkerRole.PREFILL, 0, 4, 20_000, 100, 100, 0);

    ServeDecision d = POLICY.classify(input(1000, queued, decodeRunning(16), Map.of(), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.PREFILL_QUEUE_LONG));
  }

  @Test
  void classify_fasterPrefillWorkerIdleDecode_disaggregatesAsCheaper() {
    CostStats fasterPrefill = new CostStats() {
      @Override
      public double kvBandwidthBytesPerSecond(WorkerSnapshot prefill, WorkerSnapshot decode) {
        return 1e9;
      }

      @Override
      public double kvBytesPerToken(WorkerSnapshot prefill, WorkerSnapshot decode) {
        return 1000;
      }

      @Override
      public double prefillSecondsPerToken(WorkerSnapshot worker) {
        return worker.role() == WorkerRole.PREFILL ? 1e-4 : 1e-3;
      }
    };

    ServeDecision d = POLICY.classify(input(1000, PREFILL, decodeRunning(0), Map.of(), fasterPrefill));

    assertThat(d).isEqualTo(ServeDecision.disaggregated(ServeReasons.DISAGGREGATED_CHEAPER));
  }

  @Test
  void classify_gainWithinHysteresis_colocates() {
    // Local: 100ms + 0.1 × 1 × 100ms = 110ms. Remote: 100ms + 0.1ms + 2ms ≈ 102ms: faster, but not by 20%.
    ServeDecision d = POLICY.classify(input(100, PREFILL, decodeRunning(1), Map.of(), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.COLOCATED_CHEAPER));
    CostModelClassifier eager = CostModelClassifier.builder().hysteresis(0).build();
    assertThat(eager.classify(input(100, PREFILL, decodeRunning(1), Map.of(), FAST_PATH)))
        .isEqualTo(ServeDecision.disaggregated(ServeReasons.PROTECTS_DECODE_BATCH));
  }

  @Test
  void classify_prefillWorkerOfOtherModel_colocatesForNoPrefillWorker() {
    WorkerSnapshot other = new WorkerSnapshot("p1", WorkerRole.PREFILL, "p1", true, "", "other/layout", "", 0, 0, 0,
        100, 100, 16, 0.0, 0, 0, 0);

    ServeDecision d = POLICY.classify(input(1000, other, decodeRunning(16), Map.of(), FAST_PATH));

    assertThat(d).isEqualTo(ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER));
  }

  @Test
  void classify_picksCheapestPrefillWorker() {
    WorkerSnapshot queued = Snapshots.of("p0", WorkerRole.PREFILL, 0, 4, 20_000, 100, 100, 0);
    WorkerSnapshot idle = Snapshots.idle("p1", WorkerRole.PREFILL);
    ClassifierInput in = new ClassifierInput(new RequestFacts("r", 1000, 16, 0), List.of(queued, idle),
        List.of(decodeRunning(16)), Map.of(), FAST_PATH);

    assertThat(POLICY.classify(in).mode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
  }

  @Test
  void estimate_splitsTermsAsDocumented() {
    WorkerSnapshot decode = Snapshots.of("d0", WorkerRole.DECODE, 10, 2, 10, 100, 100, 0);
    WorkerSnapshot prefill = Snapshots.of("p0", WorkerRole.PREFILL, 0, 1, 500, 100, 100, 0);

    CostModelClassifier.Estimate e = POLICY.estimate(input(1000, prefill, decode, Map.of("d0", 200), SLOW_PATH),
        prefill, decode);

    // u = 800 → 0.8s locally; two queued requests ahead on D → +1.6s; stall 0.1 × 10 × 0.8s.
    assertThat(e.colocatedPrefill()).isCloseTo(2.4, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(e.batchStall()).isCloseTo(0.8, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(e.prefillQueue()).isCloseTo(0.5, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(e.disaggregatedPrefill()).isCloseTo(1.002, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(e.transfer()).isCloseTo(10.0, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void estimate_prefixCachedOnPrefillWorker_prefillsOnlyTheRestButMovesWholePrompt() {
    CostModelClassifier.Estimate cold = POLICY.estimate(input(1000, PREFILL, decodeRunning(0), Map.of(), SLOW_PATH),
        PREFILL, decodeRunning(0));
    CostModelClassifier.Estimate warm = POLICY.estimate(
        input(1000, PREFILL, decodeRunning(0), Map.of("p0", 600), SLOW_PATH), PREFILL, decodeRunning(0));

    assertThat(cold.disaggregatedPrefill()).isCloseTo(1.002, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(warm.disaggregatedPrefill()).isCloseTo(0.402, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(warm.transfer()).isEqualTo(cold.transfer());
  }

  @Test
  void classify_prefixCachedOnPrefillWorkerOnly_tipsTowardDisaggregation() {
    // Hysteresis 1: disaggregate only if predicted twice as fast. Colocated: 1000 tokens → 1s + stall 0.1 × 4 × 1s
    // = 1.4s. Cold prefill worker: 1s + 2ms + 1ms transfer = 1.003s, × 2 > 1.4s. Warm (800 cached): 0.203s, × 2 < 1.4s.
    CostModelClassifier strict = CostModelClassifier.builder().hysteresis(1.0).build();
    WorkerSnapshot decode = decodeRunning(4);

    assertThat(strict.classify(input(1000, PREFILL, decode, Map.of(), FAST_PATH)).mode())
        .isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
    assertThat(strict.classify(input(1000, PREFILL, decode, Map.of("p0", 800), FAST_PATH)).mode())
        .isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
  }

  @Test
  void builder_negativeHysteresis_fails() {
    assertThatThrownBy(() -> CostModelClassifier.builder().hysteresis(-0.1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("hysteresis: -0.1 (expected: in 0..10)");
    assertThatThrownBy(() -> CostModelClassifier.builder().overhead(Duration.ofMillis(-1)))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void classifierInput_cachedBeyondPrompt_isClamped() {
    ClassifierInput in = input(10, PREFILL, decodeRunning(0), Map.of("d0", 50), FAST_PATH);

    assertThat(in.cachedPrefixTokens(decodeRunning(0))).isEqualTo(10);
    assertThat(PrefixCacheIndex.none().cachedPrefixTokens(decodeRunning(0), List.of(1, 2, 3))).isZero();
  }
}
