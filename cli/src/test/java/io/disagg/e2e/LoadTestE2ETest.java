package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.disagg.loadtest.LoadTestMain;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/** Issue 6: a short load test against the real router writes JSON and HTML reports with measured results. */
@ExtendWith(SharedCluster.class)
class LoadTestE2ETest {
  private static LocalCluster cluster;

  @TempDir
  Path dir;

  @BeforeAll
  static void attach(LocalCluster shared) {
    cluster = shared;
  }

  @Test
  void grpcRateSweep_writesParsableJsonAndHtmlWithResults() throws Exception {
    Path json = dir.resolve("grpc.json");
    Path html = dir.resolve("grpc.html");

    int rc = LoadTestMain.run("--target", cluster.routerGrpc(), "--protocol", "grpc", "--api-key", cluster.apiKey(),
        "--sweep", "2,4", "--profile", "chat", "--length-scale", "0.05", "--max-input-tokens", "64",
        "--max-output-tokens", "6", "--duration", "1500ms", "--max-requests", "4", "--drain-timeout", "30s",
        "--slo-ttft-ms", "10000",
        "--slo-tpot-ms", "2000", "--seed", "5", "--no-progress", "--out-json", json.toString(),
        "--out-html", html.toString());

    assertThat(rc).isZero();
    JsonNode runs = new ObjectMapper().readTree(json.toFile()).path("runs");
    assertThat(runs).hasSize(2);
    assertMeasured(runs);
    assertHtmlHasCharts(html);
    // ./disagg test renders this report in headless Chromium after the suite (loadtest/scripts/render-report.sh).
    Path projectDir = Path.of(System.getProperty("disagg.project.dir", "."));
    Files.copy(html, projectDir.resolve("cli/target/e2e-loadtest-report.html"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  @Test
  void openAiClosedLoop_writesParsableJsonAndHtmlWithResults() throws Exception {
    String http = cluster.routerHttp();
    Path json = dir.resolve("openai.json");
    Path html = dir.resolve("openai.html");

    int rc = LoadTestMain.run("--target", "http://" + http, "--protocol", "openai", "--model", model(),
        "--api-key", cluster.apiKey(), "--mode", "closed", "--users", "1,2", "--profile", "chat",
        "--length-scale", "0.05", "--max-input-tokens", "64", "--max-output-tokens", "6", "--duration", "5s",
        "--max-requests", "4", "--seed", "5", "--no-progress", "--out-json", json.toString(),
        "--out-html", html.toString());

    assertThat(rc).isZero();
    JsonNode runs = new ObjectMapper().readTree(json.toFile()).path("runs");
    assertThat(runs).hasSize(2);
    assertMeasured(runs);
    assertHtmlHasCharts(html);
  }

  @Test
  void openAiWithoutModelFlag_usesTheOnlyModelServed() throws Exception {
    String http = cluster.routerHttp();
    Path json = dir.resolve("openai-default-model.json");

    // --model is documented as "empty for the only model served"
    int rc = LoadTestMain.run("--target", "http://" + http, "--protocol", "openai", "--api-key", cluster.apiKey(),
        "--mode", "closed", "--users", "1", "--length-scale", "0.05", "--max-input-tokens", "64",
        "--max-output-tokens", "4", "--duration", "5s", "--max-requests", "2", "--seed", "5", "--no-progress",
        "--out-json", json.toString());

    JsonNode runs = new ObjectMapper().readTree(json.toFile()).path("runs");
    assertThat(runs.get(0).path("errors").toString()).isEqualTo("{}");
    assertThat(rc).isZero();
    assertMeasured(runs);
  }

  private static String model() {
    return cluster.client().model().getName();
  }

  private static void assertMeasured(JsonNode runs) {
    for (JsonNode run : runs) {
      assertThat(run.path("requests").asInt()).as(run.toString()).isBetween(1, 4);
      assertThat(run.path("succeeded").asInt()).as(run.toString()).isEqualTo(run.path("requests").asInt());
      assertThat(run.path("errors").size()).as(run.toString()).isZero();
      assertThat(run.path("ttft").path("p50").asDouble()).isPositive();
      assertThat(run.path("e2e").path("p99").asDouble())
          .isGreaterThanOrEqualTo(run.path("ttft").path("p99").asDouble());
      assertThat(run.path("meanOutputTokens").asDouble()).isPositive();
      assertThat(run.path("cdfs").path("ttft").size()).isEqualTo(run.path("ttft").path("count").asInt());
    }
  }

  private static void assertHtmlHasCharts(Path html) throws Exception {
    var factory = DocumentBuilderFactory.newInstance();
    factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
    Document doc = factory.newDocumentBuilder().parse(html.toFile());
    NodeList lines = doc.getElementsByTagName("polyline");
    assertThat(lines.getLength()).isPositive();
    for (int i = 0; i < lines.getLength(); i++) {
      assertThat(((Element) lines.item(i)).getAttribute("points")).isNotBlank();
    }
    assertThat(Files.readString(html)).contains("TTFT");
  }
}
