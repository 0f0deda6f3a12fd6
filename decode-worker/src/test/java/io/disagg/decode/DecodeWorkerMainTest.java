package io.disagg.decode;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.decode.testing.LineCapture;
import io.disagg.decode.testing.PrometheusText;
import io.disagg.decode.testing.RealModel;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DecodeWorkerMainTest {

  @Test
  void help_printsEveryFlagAndExitsZero() {
    LineCapture out = new LineCapture("--model");
    int code = DecodeWorkerMain.run(Map.of(), out.printWriter(), new LineCapture("x").printWriter(), null, "--help");

    assertThat(code).isZero();
    assertThat(out.text()).contains("--model", "--host", "--grpc-port", "--kv-port", "--kv-unix-socket",
        "--worker-id", "--threads", "--kv-blocks", "--block-tokens", "--max-batch-tokens", "--max-batch-size",
        "--queue-capacity", "--kv-secret", "--metrics-port", "--config", "--backend-option", "--kv-tls-cert",
        "--kv-tls-key", "--kv-tls-trust");
  }

  @Test
  void missingModel_isUsageError() {
    LineCapture err = new LineCapture("--model");
    int code = DecodeWorkerMain.run(Map.of(), new LineCapture("x").printWriter(), err.printWriter(), null,
        "--kv-secret", SimulatedBackend.KV_SECRET);

    assertThat(code).isEqualTo(2);
    assertThat(err.text()).contains("Missing required option: '--model");
  }

  @Test
  void run_flagsBeatEnvironmentBeatConfigFile_andPrintsReadyLine(@TempDir Path dir) throws Exception {
    Path model = RealModel.path();
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    Path config = dir.resolve("decode.properties");
    Files.writeString(config, "kv-blocks=32\nblock-tokens=32\nworker-id=from-file\n");
    Map<String, String> env = Map.of("DISAGG_KV_BLOCKS", "48", "DISAGG_BLOCK_TOKENS", "8",
        "DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET);
    LineCapture out = new LineCapture("ready:");
    CountDownLatch stop = new CountDownLatch(1);

    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> DecodeWorkerMain.run(env,
        out.printWriter(), new LineCapture("x").printWriter(), stop,
        "--model", model.toString(), "--config", config.toString(), "--kv-blocks", "64", "--grpc-port", "0"),
        java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    String ready = out.line.get(60, TimeUnit.SECONDS);

    Matcher m = Pattern.compile("disagg decode-worker ready: grpc=127\\.0\\.0\\.1:(\\d+) kv=127\\.0\\.0\\.1:(\\d+)")
        .matcher(ready);
    assertThat(m.matches()).as(ready).isTrue();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(m.group(1)))
        .usePlaintext().build();
    try {
      WorkerHealth h = DecodeWorkerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .health(HealthRequest.getDefaultInstance());
      assertThat(h.getTotalKvBlocks()).isEqualTo(64); // flag over env (48) and file (32)
      assertThat(h.getBlockTokens()).isEqualTo(8); // env over file (32)
      assertThat(h.getWorkerId()).isEqualTo("from-file");
      assertThat(h.getKvAddress()).isEqualTo("127.0.0.1:" + m.group(2));
    } finally {
      channel.shutdownNow();
    }
    stop.countDown();
    assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void run_metricsPortFromEnvironment_servesEveryWorkerMeterAndCountsTokens() throws Exception {
    Path model = RealModel.path();
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    LineCapture out = new LineCapture("ready:");
    CountDownLatch stop = new CountDownLatch(1);

    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> DecodeWorkerMain.run(
        Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET, "DISAGG_METRICS_PORT", "0"), out.printWriter(),
        new LineCapture("x").printWriter(), stop, "--model", model.toString(), "--worker-id", "d-cli"),
        java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    String ready = out.line.get(60, TimeUnit.SECONDS);

    Matcher m = Pattern.compile("disagg decode-worker ready: grpc=127\\.0\\.0\\.1:(\\d+) kv=127\\.0\\.0\\.1:\\d+"
        + " metrics=(127\\.0\\.0\\.1:\\d+)").matcher(ready);
    assertThat(m.matches()).as(ready).isTrue();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(m.group(1)))
        .usePlaintext().build();
    StreamResult result;
    try {
      int[] prompt = RealModel.prompt(3, 12);
      StreamResult r = new StreamResult();
      DecodeWorkerGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
          .setRequestId("cli-1").addAllPromptTokenIds(IntStream.of(prompt).boxed().toList()).setMaxTokens(8).build(),
          r);
      result = r.done.get(30, TimeUnit.SECONDS);
    } finally {
      channel.shutdownNow();
    }
    PrometheusText scraped = PrometheusText.scrape(m.group(2));
    stop.countDown();

    assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
    assertThat(scraped.types()).containsAllEntriesOf(DecodeWorkerMetricsTest.WORKER_FAMILIES);
    assertThat(scraped.value("disagg_worker_tokens_total", Map.of("worker", "d-cli", "phase", "prefill")))
        .isEqualTo(12);
    // every token after the first came from a decode step (an end-of-generation token is sampled but not sent)
    assertThat(scraped.value("disagg_worker_tokens_total", Map.of("phase", "decode")))
        .isGreaterThanOrEqualTo(result.tokenIds().size() - 1).isPositive();
    assertThat(scraped.value("disagg_worker_requests_total", Map.of("outcome", "ok"))).isEqualTo(1);
  }

  @Test
  void run_backendOptionFromConfigFile_reachesTheBackend(@TempDir Path dir) throws Exception {
    Path model = RealModel.path();
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    Path config = dir.resolve("decode.properties");
    Files.writeString(config, "backend-option=java.prefix-cache=false\n");
    LineCapture out = new LineCapture("ready:");
    CountDownLatch stop = new CountDownLatch(1);

    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> DecodeWorkerMain.run(
        Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET), out.printWriter(), new LineCapture("x").printWriter(),
        stop, "--model", model.toString(), "--config", config.toString(), "--kv-blocks", "32"),
        java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor());
    String ready = out.line.get(60, TimeUnit.SECONDS);

    Matcher m = Pattern.compile("disagg decode-worker ready: grpc=127\\.0\\.0\\.1:(\\d+) .*").matcher(ready);
    assertThat(m.matches()).as(ready).isTrue();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(m.group(1)))
        .usePlaintext().build();
    try {
      WorkerHealth h = DecodeWorkerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .health(HealthRequest.getDefaultInstance());
      // version 0: the worker keeps no prefix cache (on by default, it would be 1 or more)
      assertThat(h.getPrefixCache().getVersion()).isZero();
    } finally {
      channel.shutdownNow();
    }
    stop.countDown();
    assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void backendOptionTheBackendRefuses_isUsageErrorSayingWhy() {
    Path model = RealModel.path();
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    LineCapture err = new LineCapture("java.prefix-cache");

    int code = DecodeWorkerMain.run(Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET),
        new LineCapture("x").printWriter(), err.printWriter(), null, "--model", model.toString(),
        "--backend-option", "java.prefix-cache=maybe");

    assertThat(code).isEqualTo(2);
    assertThat(err.text()).contains("java.prefix-cache: maybe (expected: true or false)");
  }
}
