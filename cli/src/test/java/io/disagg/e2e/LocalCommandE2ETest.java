package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.client.DisaggClient;
import io.disagg.client.GenerateResult;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ServeMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The {@code ./disagg} entry points that start components: {@code decode-worker} hands its flags to the worker, and
 * {@code local} brings up a whole cluster (its own decode worker, prefill worker and router processes) that serves.
 */
class LocalCommandE2ETest {

  @Test
  void decodeWorkerSubcommand_passesItsFlagsToTheWorker() {
    try (ChildJvm worker = ChildJvm.start("cli-decode", "decode-worker", "io.disagg.cli.Main", List.of(
        "decode-worker", "--model", LocalCluster.model().toString(), "--worker-id", "cli-decode", "--grpc-port", "0",
        "--kv-port", "0", "--kv-blocks", "16"), Map.of("DISAGG_KV_SECRET", "0123456789abcdef0123456789abcdef"))) {

      Map<String, String> ready = worker.awaitReady(LocalCluster.STARTUP_TIMEOUT);

      assertThat(ready).containsKeys("grpc", "kv");
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"tcp", "unix"})
  void localCommand_startsClusterThatServesDisaggregatedCompletion(String kvTransport) throws Exception {
    List<String> args = new ArrayList<>(List.of("local", "--model", LocalCluster.model().toString(),
        "--decode-workers", "1", "--prefill-workers", "1", "--router-arg=--metrics-port=0"));
    if (kvTransport.equals("unix")) {
      args.add("--kv-unix-sockets");
    }
    try (ChildJvm local = ChildJvm.start("local-" + kvTransport, "router", "io.disagg.cli.Main", args, Map.of())) {
      Map<String, String> ready = local.awaitReady(Duration.ofSeconds(120));
      // The router can announce itself ready with a cold worker not yet in rotation (see RouterMetrics).
      RouterMetrics.awaitInRotation(ready.get("metrics"), null, 1, 1, Duration.ofSeconds(30));

      GenerateResult r;
      try (DisaggClient client = DisaggClient.builder().target(ready.get("grpc")).usePlaintext()
          .defaultDeadline(Duration.ofSeconds(60)).build()) {
        r = client.generate(GenerateRequest.newBuilder().setText(Prompts.LILY).setMaxTokens(8)
            .setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build());
      }

      assertThat(r.tokenIds()).hasSize(8);
      assertThat(r.servedBy().mode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(r.timing().kvTransferBytes()).isPositive();
      assertThat(ready).containsKey("http");
      // The decode worker's own ready line (echoed by local) names where prefill workers push.
      assertThat(local.output()).contains(kvTransport.equals("unix") ? "kv=unix:" : "kv=127.0.0.1:");
    }
  }
}
