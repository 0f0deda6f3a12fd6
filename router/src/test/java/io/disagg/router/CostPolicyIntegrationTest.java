package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cost policy through the real router: decisions follow what the router measured from the workers' own reports,
 * and every response names the mode and the reason.
 */
@Timeout(60)
class CostPolicyIntegrationTest {
  private static final String LONG = "the quick brown fox jumps over";

  private static GenerateRequest request(String text) {
    return GenerateRequest.newBuilder().setText(text).setMaxTokens(2).build();
  }

  private static Cluster cluster(PrefixCacheIndex index) {
    return new Cluster(1, 1, b -> b.classifier(CostModelClassifier.withDefaults()).prefixCacheIndex(index));
  }

  @Test
  void generate_shortPromptIdleCluster_servedColocatedWithReason() {
    try (Cluster cluster = cluster(PrefixCacheIndex.none())) {
      ServedBy servedBy = cluster.blocking().generate(request("hi")).getServedBy();

      assertThat(servedBy.getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(servedBy.getReason()).isEqualTo(ServeReasons.COLOCATED_CHEAPER);
    }
  }

  @Test
  void generate_busyDecodeBatch_disaggregatesUntilMeasuredTransferIsSlow() {
    try (Cluster cluster = cluster(PrefixCacheIndex.none())) {
      cluster.decode.getFirst().runningSequences = 50;
      cluster.poll();

      GenerateResponse first = cluster.blocking().generate(request(LONG));
      assertThat(first.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(first.getServedBy().getReason()).isIn(ServeReasons.PROTECTS_DECODE_BATCH,
          ServeReasons.DISAGGREGATED_CHEAPER);

      // The path turns slow: one forced transfer reports 5s for a few kilobytes, and the measured bandwidth drops.
      cluster.prefill.getFirst().kvTransferUs = Duration.ofSeconds(5).toNanos() / 1000;
      cluster.blocking().generate(request(LONG).toBuilder().setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build());

      GenerateResponse after = cluster.blocking().generate(request(LONG));
      assertThat(after.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(after.getServedBy().getReason()).isEqualTo(ServeReasons.TRANSFER_TOO_SLOW);
    }
  }

  @Test
  void generate_promptFullyCachedOnDecodeWorker_servedColocated() {
    PrefixCacheIndex everything = (worker, prompt) -> prompt.size();
    try (Cluster cluster = cluster(everything)) {
      cluster.decode.getFirst().runningSequences = 50;
      cluster.poll();

      ServedBy servedBy = cluster.blocking().generate(request(LONG)).getServedBy();

      assertThat(servedBy.getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(servedBy.getReason()).isEqualTo(ServeReasons.FULLY_CACHED);
    }
  }

  @Test
  void builder_withoutClassifierOrThreshold_usesCostPolicy() {
    try (RouterService router = RouterService.builder().model(SimulatedModel.served()).decodeWorker("127.0.0.1:1")
        .healthInterval(Duration.ZERO).build()) {
      assertThat(router.classifier()).isInstanceOf(CostModelClassifier.class);
    }
  }
}
