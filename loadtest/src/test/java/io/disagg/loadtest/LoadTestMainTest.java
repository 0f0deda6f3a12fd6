package io.disagg.loadtest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.disagg.client.SimulatedRouter;
import io.disagg.proto.v1.ServeMode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/** The command end to end against simulated servers on loopback ports: bounded, a few seconds in all. */
class LoadTestMainTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();

    @TempDir
    Path dir;

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private static Document parseXml(Path html) throws Exception {
        var factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(false);
        factory.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        return factory.newDocumentBuilder().parse(html.toFile());
    }

    @Test
    void grpcSweep_writesJsonAndHtmlWithGoodputAndCharts() throws Exception {
        try (var router = SimulatedRouter.start(scheduler).tokenDelay(Duration.ofMillis(1))) {
            Path json = dir.resolve("report.json");
            Path html = dir.resolve("report.html");

            int rc = LoadTestMain.run("--target", router.target(), "--protocol", "grpc", "--sweep", "20,40",
                    "--profile", "chat", "--length-scale", "0.05", "--warmup", "100ms", "--duration", "700ms",
                    "--max-requests", "12", "--slo-ttft-ms", "2000", "--slo-tpot-ms", "500", "--seed", "3",
                    "--force-mode", "disaggregated", "--out-json", json.toString(), "--out-html", html.toString());

            assertThat(rc).isZero();
            JsonNode report = new ObjectMapper().readTree(json.toFile());
            assertThat(report.path("runs")).hasSize(2);
            JsonNode first = report.path("runs").get(0);
            assertThat(first.path("offeredRate").asDouble()).isEqualTo(20);
            assertThat(first.path("succeeded").asInt()).isPositive().isLessThanOrEqualTo(12);
            assertThat(first.path("ttft").path("p50").asDouble()).isPositive();
            assertThat(first.path("tpot").path("p99").asDouble()).isPositive();
            assertThat(first.path("slo").path("both").asDouble()).isEqualTo(1.0);
            assertThat(first.path("cdfs").path("ttft").size()).isEqualTo(first.path("ttft").path("count").asInt());
            assertThat(report.path("goodput").path("requestsPerSecond").asDouble()).isEqualTo(40);
            assertThat(router.requests()).allSatisfy(r -> {
                assertThat(r.getForceMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
                assertThat(r.getMaxTokens()).isBetween(3, 13);
            });

            // kept for inspection and for loadtest/scripts/render-report.sh (headless Chromium)
            Files.copy(html, Path.of("target/sample-report.html"), StandardCopyOption.REPLACE_EXISTING);
            Files.copy(json, Path.of("target/sample-report.json"), StandardCopyOption.REPLACE_EXISTING);
            Document doc = parseXml(html);
            var polylines = doc.getElementsByTagName("polyline");
            // 4 CDFs x 2 runs + attainment (3 series) + throughput (2 series)
            assertThat(polylines.getLength()).isEqualTo(13);
            for (int i = 0; i < polylines.getLength(); i++) {
                assertThat(((Element) polylines.item(i)).getAttribute("points")).isNotBlank();
            }
            String text = Files.readString(html);
            assertThat(text).contains("class=\"goodput\"", "Goodput: <b>40 req/s</b>", "TTFT CDF")
                    .doesNotContain("<script", "http://cdn", "https://");
        }
    }

    @Test
    void openAiClosedLoop_countsHttpErrorsByType() throws Exception {
        try (var server = new SimulatedOpenAiServer().failEvery(4)) {
            Path json = dir.resolve("openai.json");

            int rc = LoadTestMain.run("--target", server.baseUrl(), "--protocol", "openai", "--mode", "closed",
                    "--users", "2", "--profile", "reasoning", "--max-output-tokens", "6", "--length-scale", "0.1",
                    "--duration", "10s", "--max-requests", "16", "--api-key", "sk-load", "--out-json",
                    json.toString());

            assertThat(rc).isZero();
            JsonNode run = new ObjectMapper().readTree(json.toFile()).path("runs").get(0);
            assertThat(run.path("requests").asInt()).isEqualTo(16);
            assertThat(run.path("errors").path("HTTP 503").asInt()).isEqualTo(4);
            assertThat(run.path("succeeded").asInt()).isEqualTo(12);
            assertThat(run.path("meanOutputTokens").asDouble()).isEqualTo(6);
            assertThat(run.path("itl").path("count").asInt()).isEqualTo(12 * 5);
            assertThat(server.authorizations()).allMatch("Bearer sk-load"::equals);
        }
    }

    @Test
    void trace_replaysEveryRequestOnce() throws Exception {
        Path trace = dir.resolve("trace.jsonl");
        Files.writeString(trace, """
                {"timestamp": 0.00, "input_tokens": 10, "output_tokens": 2}
                {"timestamp": 0.05, "input_tokens": 20, "output_tokens": 3}
                {"timestamp": 0.10, "input_tokens": 30, "output_tokens": 4}
                """);
        try (var router = SimulatedRouter.start(scheduler)) {
            Path json = dir.resolve("trace.json");

            int rc = LoadTestMain.run("--target", router.target(), "--profile", "trace:" + trace,
                    "--prompt-format", "token-ids", "--duration", "5s", "--out-json", json.toString());

            assertThat(rc).isZero();
            assertThat(router.requests()).extracting(r -> r.getTokenIds().getIdsCount()).containsExactly(10, 20, 30);
            assertThat(router.requests()).extracting(r -> r.getMaxTokens()).containsExactly(2, 3, 4);
            JsonNode run = new ObjectMapper().readTree(json.toFile()).path("runs").get(0);
            assertThat(run.path("label").asText()).isEqualTo("trace replay");
            assertThat(run.path("meanInputTokens").asDouble()).isEqualTo(20);
        }
    }

    /**
     * One user sends 8 prompts of a 64-token shared prefix and a 16-token part of their own (chat lengths capped at
     * 16). The simulated cache holds 16-token blocks: the first request finds nothing, the other 7 find the 4
     * prefix blocks, so the hit ratio is 7 * 64 / (8 * 80) = 0.7.
     */
    @Test
    void grpcSharedPrefixTokenIds_reportsPrefixCacheHitRatio() throws Exception {
        try (var router = new SimulatedCachingRouter()) {
            Path json = dir.resolve("prefix.json");

            int rc = LoadTestMain.run("--target", router.target(), "--mode", "closed", "--users", "1",
                    "--prompt-format", "token-ids", "--shared-prefix-tokens", "64", "--max-input-tokens", "16",
                    "--max-output-tokens", "2", "--max-requests", "8", "--duration", "10s", "--seed", "5",
                    "--out-json", json.toString());

            assertThat(rc).isZero();
            var prompts = router.requests().stream().map(r -> r.getTokenIds().getIdsList()).toList();
            assertThat(prompts).hasSize(8).allSatisfy(ids -> {
                assertThat(ids).hasSize(80);
                assertThat(ids.subList(0, 64)).isEqualTo(prompts.getFirst().subList(0, 64));
            });
            JsonNode run = new ObjectMapper().readTree(json.toFile()).path("runs").get(0);
            assertThat(run.path("prefixCacheHitRatio").asDouble()).isEqualTo(0.7);
            assertThat(run.path("meanCachedPromptTokens").asDouble()).isEqualTo(56);
        }
    }

    @Test
    void openAiSharedPrefixText_reportsPrefixCacheHitRatioInJsonAndHtml() throws Exception {
        try (var server = new SimulatedOpenAiServer()) {
            Path json = dir.resolve("prefix.json");
            Path html = dir.resolve("prefix.html");

            int rc = LoadTestMain.run("--target", server.baseUrl(), "--protocol", "openai", "--mode", "closed",
                    "--users", "1", "--shared-prefix-tokens", "64", "--max-input-tokens", "16",
                    "--max-output-tokens", "2", "--max-requests", "8", "--duration", "10s", "--out-json",
                    json.toString(), "--out-html", html.toString());

            assertThat(rc).isZero();
            JsonNode report = new ObjectMapper().readTree(json.toFile());
            JsonNode run = report.path("runs").get(0);
            // BOS + 62 words + newline, then 16 words: 80 tokens as the simulated server counts them
            assertThat(run.path("meanInputTokens").asDouble()).isEqualTo(80);
            assertThat(run.path("prefixCacheHitRatio").asDouble()).isEqualTo(0.7);
            assertThat(report.path("settings").path("shared-prefix-tokens").asText()).isEqualTo("64");
            parseXml(html);
            assertThat(Files.readString(html)).contains("<th>prefix cache hit</th>", "<td>70.0%</td>");
        }
    }

    @Test
    void invalidOptions_exitWithUsageErrorAndMessage() {
        var err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true));
        try {
            assertThat(LoadTestMain.run("--target", "localhost:1", "--rate", "-2")).isEqualTo(2);
            assertThat(LoadTestMain.run("--target", "localhost:1")).isEqualTo(2);
            assertThat(LoadTestMain.run("--target", "localhost:1", "--rate", "1", "--profile", "x",
                    "--protocol", "smtp")).isEqualTo(2);
            assertThat(LoadTestMain.run("--target", "192.0.2.1:50051", "--rate", "1")).isEqualTo(2);
            assertThat(LoadTestMain.run("--target", "localhost:1", "--rate", "1", "--prefix-groups", "3"))
                    .isEqualTo(2);
        } finally {
            System.setErr(old);
        }
        assertThat(err.toString()).contains("rate: -2.0 (expected: > 0)", "rate: not set",
                "protocol: smtp (expected: grpc or openai)", "expected: a loopback address",
                "prefix-groups: 3 (expected: >= 1, and 1 without a shared prefix)");
    }

    @Test
    void help_listsOptionsAndSucceeds() {
        var out = new ByteArrayOutputStream();
        PrintStream old = System.out;
        System.setOut(new PrintStream(out, true));
        try {
            assertThat(LoadTestMain.run("--help")).isZero();
        } finally {
            System.setOut(old);
        }
        assertThat(out.toString()).contains("--target", "--sweep", "--slo-ttft-ms", "--burstiness", "--out-html");
    }
}
