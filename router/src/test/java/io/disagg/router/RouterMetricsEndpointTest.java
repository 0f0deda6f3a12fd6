package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.ServeMode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Scrapes {@code /metrics} over HTTP after real traffic and holds it to the format and to the operator docs. */
@Timeout(60)
class RouterMetricsEndpointTest {
  private static final Path OPERATIONS = Path.of("..", "docs", "operations.md");

  private static GenerateRequest request(String text, ServeMode mode) {
    return GenerateRequest.newBuilder().setText(text).setMaxTokens(4).setForceMode(mode).build();
  }

  /** The meter names in the "Router metrics" section of docs/operations.md: each table row's first code span. */
  static List<String> documentedMeters() throws IOException {
    String doc = Files.readString(OPERATIONS);
    int start = doc.indexOf("## Router metrics");
    assertThat(start).as("docs/operations.md has a 'Router metrics' section").isNotNegative();
    int end = doc.indexOf("\n## ", start + 1);
    String section = end < 0 ? doc.substring(start) : doc.substring(start, end);
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("(?m)^\\| `([a-z_:0-9]+)").matcher(section);
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  private static String scrape(MetricsServer server) throws Exception {
    try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(
              URI.create("http://" + server.hostPort() + "/metrics")).timeout(Duration.ofSeconds(10)).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type")).hasValue(MetricsServer.CONTENT_TYPE);
      return response.body();
    }
  }

  @Test
  void metrics_afterTraffic_exposeEveryDocumentedMeterInPrometheusFormat() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (Cluster cluster = new Cluster(1, 2, b -> b.meterRegistry(registry));
        MetricsServer server = MetricsServer.start(registry, "127.0.0.1", 0)) {
      GenerateResponse disaggregated = cluster.blocking().generate(
          request("the quick brown fox jumps over", ServeMode.SERVE_MODE_DISAGGREGATED));
      cluster.blocking().generate(request("hi", ServeMode.SERVE_MODE_COLOCATED));
      cluster.decode.forEach(d -> d.refuseColocated = true);
      assertThatThrownBy(() -> cluster.blocking().generate(request("hi", ServeMode.SERVE_MODE_COLOCATED)));

      PrometheusText text = PrometheusText.parse(scrape(server));

      List<String> documented = documentedMeters();
      assertThat(documented).hasSizeGreaterThan(15);
      assertThat(documented).allSatisfy(name -> assertThat(text.exposes(name))
          .as("documented meter %s in the scrape; exposed: %s", name, text.sampleNames()).isTrue());
      String prefill = disaggregated.getServedBy().getPrefillWorker();
      String decode = disaggregated.getServedBy().getDecodeWorker();
      Map<String, String> path = Map.of("prefill", prefill, "decode", decode);
      // The simulated prefill worker reports its transfer; bandwidth = bytes / seconds.
      double bytes = text.find("disagg_router_kv_transfer_bytes_total", path).getFirst().value();
      assertThat(bytes).isEqualTo(disaggregated.getTiming().getKvTransferBytes());
      assertThat(text.find("disagg_router_kv_transfer_bandwidth_bytes_per_second", path).getFirst().value())
          .isCloseTo(bytes * 1e6 / disaggregated.getTiming().getKvTransferUs(), org.assertj.core.data.Percentage.withPercentage(1e-6));
      assertThat(text.find("disagg_router_ttft_seconds_count", Map.of()).getFirst().value()).isEqualTo(2);
      assertThat(text.find("disagg_router_ttft_seconds_bucket", Map.of("le", "0.1"))).hasSize(1);
      assertThat(text.find("disagg_router_errors_total", Map.of("code", "RESOURCE_EXHAUSTED")).getFirst().value())
          .isEqualTo(1);
      assertThat(text.find("disagg_router_serve_decisions_total",
          Map.of("mode", "disaggregated", "reason", ServeReasons.FORCED)).getFirst().value()).isEqualTo(1);
      assertThat(text.find("disagg_router_circuit_breaker_state", Map.of("worker", decode, "state", "closed"))
          .getFirst().value()).isEqualTo(1);
    }
  }

  @Test
  void metrics_workerKvBlocks_splitIntoFreeReservedAndUsedAsReported() throws Exception {
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (Cluster cluster = new Cluster(0, 1, b -> b.meterRegistry(registry));
        MetricsServer server = MetricsServer.start(registry, "127.0.0.1", 0)) {
      SimulatedDecodeWorker worker = cluster.decode.getFirst();
      worker.freeKvBlocks = 700;
      worker.reservedKvBlocks = 100;
      cluster.poll();

      PrometheusText text = PrometheusText.parse(scrape(server));

      Map<String, Double> byState = new java.util.HashMap<>();
      for (String state : List.of("free", "reserved", "used")) {
        byState.put(state, text.find("disagg_router_worker_kv_blocks", Map.of("worker", worker.address(),
            "state", state)).getFirst().value());
      }
      assertThat(byState).containsExactlyInAnyOrderEntriesOf(Map.of("free", 700.0, "reserved", 100.0, "used", 200.0));
    }
  }

  @Test
  void parser_malformedExposition_isRejected() {
    assertThatThrownBy(() -> PrometheusText.parse("# TYPE a counter\na_total{x=\"1} 1\n"))
        .isInstanceOf(RuntimeException.class);
    assertThatThrownBy(() -> PrometheusText.parse("# TYPE a gauge\nb 1\n"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> PrometheusText.parse("# TYPE a gauge\na one\n"))
        .isInstanceOf(NumberFormatException.class);
  }
}
