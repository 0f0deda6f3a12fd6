package io.disagg.prefill;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.decode.testing.LineCapture;
import io.disagg.decode.testing.PrometheusText;
import io.disagg.decode.testing.RealModel;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrefillWorkerMainTest {

  @Test
  void help_printsEveryFlagAndExitsZero() {
    LineCapture out = new LineCapture("--model");
    int code = PrefillWorkerMain.run(Map.of(), out.printWriter(), new LineCapture("x").printWriter(), null, "--help");

    assertThat(code).isZero();
    assertThat(out.text()).contains("--model", "--host", "--grpc-port", "--worker-id", "--threads", "--kv-blocks",
        "--block-tokens", "--max-batch-tokens", "--max-batch-size", "--queue-capacity", "--kv-secret", "--metrics-port",
        "--config", "--backend-option", "--kv-tls-cert", "--kv-tls-key", "--kv-tls-trust");
  }

  @Test
  void missingSecret_isUsageError() {
    LineCapture err = new LineCapture("kv-secret");
    int code = PrefillWorkerMain.run(Map.of(), new LineCapture("x").printWriter(), err.printWriter(), null,
        "--model", RealModel.path().toString());

    assertThat(code).isEqualTo(2);
    assertThat(err.text()).contains("--kv-secret");
  }

  @Test
  void run_configFileAndEnvironment_printReadyLineAndServeHealth(@TempDir Path dir) throws Exception {
    Path model = RealModel.path();
    Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    Path config = dir.resolve("prefill.properties");
    Files.writeString(config, "model=" + model + "\nkv-blocks=40\nworker-id=p-file\n");
    LineCapture out = new LineCapture("ready:");
    CountDownLatch stop = new CountDownLatch(1);

    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> PrefillWorkerMain.run(
        Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET, "DISAGG_WORKER_ID", "p-env"), out.printWriter(),
        new LineCapture("x").printWriter(), stop, "--config", config.toString()),
        Executors.newVirtualThreadPerTaskExecutor());
    String ready = out.line.get(60, TimeUnit.SECONDS);

    Matcher m = Pattern.compile("disagg prefill-worker ready: grpc=127\\.0\\.0\\.1:(\\d+)").matcher(ready);
    assertThat(m.matches()).as(ready).isTrue();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", Integer.parseInt(m.group(1)))
        .usePlaintext().build();
    try {
      WorkerHealth h = PrefillWorkerGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .health(HealthRequest.getDefaultInstance());
      assertThat(h.getRole()).isEqualTo(WorkerHealth.Role.ROLE_PREFILL);
      assertThat(h.getTotalKvBlocks()).isEqualTo(40);
      assertThat(h.getWorkerId()).isEqualTo("p-env");
      assertThat(h.getReady()).isTrue();
    } finally {
      channel.shutdownNow();
    }
    stop.countDown();
    assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
  }

  @Test
  void run_metricsPortInConfigFile_readyLineEndsWithTheScrapableEndpoint(@TempDir Path dir) throws Exception {
    Path model = RealModel.path();
    Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    Path config = dir.resolve("prefill.properties");
    Files.writeString(config, "model=" + model + "\nmetrics-port=0\nworker-id=p-cli\n");
    LineCapture out = new LineCapture("ready:");
    CountDownLatch stop = new CountDownLatch(1);

    CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> PrefillWorkerMain.run(
        Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET), out.printWriter(),
        new LineCapture("x").printWriter(), stop, "--config", config.toString()),
        Executors.newVirtualThreadPerTaskExecutor());
    String ready = out.line.get(60, TimeUnit.SECONDS);

    Matcher m = Pattern.compile("disagg prefill-worker ready: grpc=127\\.0\\.0\\.1:\\d+ metrics=(127\\.0\\.0\\.1:\\d+)")
        .matcher(ready);
    assertThat(m.matches()).as(ready).isTrue();
    PrometheusText scraped = PrometheusText.scrape(m.group(1));
    stop.countDown();

    assertThat(exit.get(30, TimeUnit.SECONDS)).isZero();
    assertThat(scraped.value("disagg_worker_kv_blocks", Map.of("worker", "p-cli", "role", "prefill", "state", "free")))
        .isEqualTo(1024);
    assertThat(scraped.value("disagg_worker_tokens_total", Map.of("phase", "prefill"))).isZero();
  }
}
