package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.ServeMode;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.extension.ExtendWith;

/** {@code disagg complete --json}, run as its own process against the real router, prints what the router served. */
@ExtendWith(SharedCluster.class)
class CompleteCommandE2ETest {
  private static LocalCluster cluster;

  @BeforeAll
  static void attach(LocalCluster shared) {
    cluster = shared;
  }

  @ParameterizedTest
  @CsvSource({"disaggregated, SERVE_MODE_DISAGGREGATED", "colocated, SERVE_MODE_COLOCATED"})
  void completeJson_printsIdsTextTimingAndServedByMatchingTheRouter(String flag, ServeMode mode) throws Exception {
    GenerateResponse direct = cluster.routerStub().generate(GenerateRequest.newBuilder().setText(Prompts.LILY)
        .setMaxTokens(12).setForceMode(mode).build());

    // the key goes through the environment variable the command documents
    ChildJvm complete = ChildJvm.start("complete", null, "io.disagg.cli.Main", List.of("complete", "--router",
        cluster.routerGrpc(), "--prompt", Prompts.LILY, "--max-tokens", "12", "--mode", flag, "--json"),
        Map.of("DISAGG_API_KEY", cluster.apiKey()));
    int code;
    try {
      code = complete.awaitExit(Duration.ofSeconds(60));
    } finally {
      complete.close();
    }

    assertThat(code).as(complete.output()).isZero();
    JsonNode json = GenerateCli.lastJsonLine(complete);
    assertThat(GenerateCli.ints(json.path("ids"))).isEqualTo(direct.getTokenIdsList());
    assertThat(json.path("text").asText()).isEqualTo(direct.getText());
    assertThat(json.path("finish_reason").asText()).isEqualTo("length");
    JsonNode servedBy = json.path("served_by");
    assertThat(servedBy.path("mode").asText()).isEqualTo(flag);
    assertThat(servedBy.path("reason").asText()).isEqualTo("forced");
    assertThat(servedBy.path("decode_worker").asText()).isEqualTo(cluster.grpc(SharedCluster.DECODE));
    assertThat(servedBy.path("prefill_worker").asText())
        .isEqualTo(mode == ServeMode.SERVE_MODE_DISAGGREGATED ? cluster.grpc(SharedCluster.PREFILL) : "");
    JsonNode timing = json.path("timing");
    assertThat(timing.path("total_us").asLong()).isPositive()
        .isGreaterThanOrEqualTo(timing.path("first_token_us").asLong());
    if (mode == ServeMode.SERVE_MODE_DISAGGREGATED) {
      assertThat(timing.path("kv_transfer_bytes").asLong()).isEqualTo(direct.getTiming().getKvTransferBytes())
          .isPositive();
    } else {
      assertThat(timing.path("kv_transfer_bytes").asLong()).isZero();
    }
    assertThat(json.path("usage").path("completion_tokens").asInt()).isEqualTo(12);
    assertThat(json.path("usage").path("prompt_tokens").asInt()).isEqualTo(direct.getUsage().getPromptTokens());
  }
}
