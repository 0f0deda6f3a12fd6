package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.RouterGrpc;
import io.disagg.router.internal.RouterSettings;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class RouterMainTest {
  private static Path model() {
    Path path = Path.of(System.getProperty("disagg.shared.dir", "/work/shared"),
        "models/stories260K/stories260K.gguf");
    assumeTrue(Files.isReadable(path), "model not found at " + path + "; skipping the real-model router test");
    return path;
  }

  @Test
  void run_help_exitsZero() {
    assertThat(RouterMain.run("--help")).isZero();
  }

  @Test
  void run_noDecodeWorker_usageError() {
    assertThat(RouterMain.run("--model", "/nonexistent.gguf")).isEqualTo(2);
  }

  @Test
  void run_unreadableModel_failsToStart() {
    assertThat(RouterMain.run("--model", "/nonexistent.gguf", "--decode", "127.0.0.1:1", "--health-timeout", "100ms"))
        .isEqualTo(1);
  }

  @Test
  void launch_realModel_servesModelDescriptionAndReportsNoDecodeWorker() throws Exception {
    Path model = model();
    try (SimulatedDecodeWorker worker = SimulatedDecodeWorker.start("d0")) {
      // The simulated worker serves another model's fingerprint, so the router keeps it out of rotation.
      RouterSettings settings = RouterSettings.resolve(Map.of("model", model.toString(), "decode", worker.address(),
          "health-interval", "0s", "health-timeout", "5s"), Map.of());
      try (RouterMain.Running running = RouterMain.launch(settings)) {
        assertThat(running.server().readyLine()).matches("disagg router ready: grpc=127\\.0\\.0\\.1:\\d+");
        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + running.server().port(),
            InsecureChannelCredentials.create()).build();
        try {
          RouterGrpc.RouterBlockingStub stub = RouterGrpc.newBlockingStub(channel)
              .withDeadlineAfter(10, TimeUnit.SECONDS);
          ModelDescription description = stub.getModel(GetModelRequest.getDefaultInstance());
          assertThat(description.getContextLength()).isPositive();
          assertThat(description.getVocabSize()).isPositive();
          assertThat(description.getFingerprint()).isEqualTo(running.service().servedModel().modelSha256());
          assertThat(running.service().ready()).isFalse();
          assertThat(running.service().workers().getFirst().outOfRotationReason()).contains("serves model");

          StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
              () -> stub.generate(GenerateRequest.newBuilder().setText("Once upon a time").build()));
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
          assertThat(e.getStatus().getDescription()).contains("no decode worker is in rotation");
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    }
  }
  @Test
  void launch_withHttpPortAndKey_servesBothPortsBehindTheKeyAndPrintsBothInTheReadyLine() throws Exception {
    Path model = model();
    try (SimulatedDecodeWorker worker = SimulatedDecodeWorker.start("d0")) {
      RouterSettings settings = RouterSettings.resolve(Map.of("model", model.toString(), "decode", worker.address(),
          "health-interval", "0s", "health-timeout", "5s", "http-port", "0", "api-key", "sk-main"), Map.of());
      try (RouterMain.Running running = RouterMain.launch(settings)) {
        assertThat(running.readyLine()).matches(
            "disagg router ready: grpc=127\\.0\\.0\\.1:\\d+ http=127\\.0\\.0\\.1:\\d+");
        int httpPort = running.http().orElseThrow().port();
        assertThat(running.readyLine()).endsWith(" http=127.0.0.1:" + httpPort);
        try (io.disagg.openai.testing.RawHttp http = new io.disagg.openai.testing.RawHttp("127.0.0.1", httpPort)) {
          // The simulated worker serves another model, so no decode worker is in rotation.
          assertThat(http.get("/health", Map.of()).status()).isEqualTo(503);
          assertThat(http.get("/v1/models", Map.of()).status()).isEqualTo(401);
          var models = http.get("/v1/models", Map.of("Authorization", "Bearer sk-main"));
          assertThat(models.status()).isEqualTo(200);
          assertThat(models.body()).contains(running.service().servedModel().name());
        }
        ModelDescription description = running.service().model();
        assertThat(description.getBosToken()).isNotEmpty();
        assertThat(description.getEosToken()).isNotEmpty();

        ManagedChannel channel = Grpc.newChannelBuilder("127.0.0.1:" + running.server().port(),
            InsecureChannelCredentials.create()).build();
        try {
          StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
              () -> RouterGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
                  .getModel(GetModelRequest.getDefaultInstance()));
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
        } finally {
          channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
        }
      }
    }
  }

  @Test
  void launch_withoutHttpPort_servesNoHttp() throws Exception {
    Path model = model();
    try (SimulatedDecodeWorker worker = SimulatedDecodeWorker.start("d0")) {
      RouterSettings settings = RouterSettings.resolve(Map.of("model", model.toString(), "decode", worker.address(),
          "health-interval", "0s", "health-timeout", "5s"), Map.of());
      try (RouterMain.Running running = RouterMain.launch(settings)) {
        assertThat(running.http()).isEmpty();
        assertThat(running.readyLine()).isEqualTo(running.server().readyLine()).doesNotContain("http=");
      }
    }
  }

  @Test
  void launch_withMetricsPort_servesPrometheusTextAndPrintsItInTheReadyLine() throws Exception {
    Path model = model();
    try (SimulatedDecodeWorker worker = SimulatedDecodeWorker.start("d0")) {
      RouterSettings settings = RouterSettings.resolve(Map.of("model", model.toString(), "decode", worker.address(),
          "health-interval", "0s", "health-timeout", "5s", "metrics-port", "0"), Map.of());
      try (RouterMain.Running running = RouterMain.launch(settings)) {
        int port = running.metrics().orElseThrow().port();
        assertThat(running.readyLine()).matches("disagg router ready: grpc=127\\.0\\.0\\.1:\\d+ metrics=127\\.0\\.0\\.1:"
            + port);
        try (io.disagg.openai.testing.RawHttp http = new io.disagg.openai.testing.RawHttp("127.0.0.1", port)) {
          var scrape = http.get("/metrics", Map.of());
          assertThat(scrape.status()).isEqualTo(200);
          PrometheusText text = PrometheusText.parse(scrape.body());
          assertThat(text.find("disagg_router_workers_in_rotation", Map.of("role", "decode")).getFirst().value())
              .isZero();
          assertThat(running.service().classifier()).isInstanceOf(CostModelClassifier.class);
        }
      }
    }
  }
}
