package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.ServeMode;
import java.util.List;
import org.junit.jupiter.api.Test;

class ThresholdClassifierTest {
  private static final WorkerSnapshot PREFILL = Snapshots.idle("p0", WorkerRole.PREFILL);
  private static final WorkerSnapshot DECODE = Snapshots.idle("d0", WorkerRole.DECODE);

  private static ClassifierInput input(int promptTokens, List<WorkerSnapshot> prefill) {
    return new ClassifierInput(new RequestFacts("r", promptTokens, 16, 0), prefill, List.of(DECODE));
  }

  @Test
  void classify_promptBelowThreshold_colocated() {
    ServeDecision decision = ThresholdClassifier.of(100).classify(input(99, List.of(PREFILL)));

    assertThat(decision.mode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
    assertThat(decision.reason()).isEqualTo(ServeReasons.PROMPT_BELOW_THRESHOLD);
  }

  @Test
  void classify_promptAtThreshold_disaggregates() {
    ServeDecision decision = ThresholdClassifier.of(100).classify(input(100, List.of(PREFILL)));

    assertThat(decision.mode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
    assertThat(decision.reason()).isEqualTo(ServeReasons.PROMPT_AT_OR_ABOVE_THRESHOLD);
  }

  @Test
  void classify_longPromptNoPrefillWorker_colocatedWithReason() {
    ServeDecision decision = ThresholdClassifier.of(100).classify(input(500, List.of()));

    assertThat(decision).isEqualTo(ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER));
  }

  @Test
  void of_nonPositiveThreshold_rejectedWithExpectation() {
    assertThatThrownBy(() -> ThresholdClassifier.of(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("disaggregateThreshold: 0 (expected: > 0)");
  }

  @Test
  void serveDecision_unspecifiedMode_rejected() {
    assertThatThrownBy(() -> new ServeDecision(ServeMode.SERVE_MODE_UNSPECIFIED, "x"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
