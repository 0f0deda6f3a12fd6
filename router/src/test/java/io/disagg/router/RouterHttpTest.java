package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.openai.NettyLeakDetectorExtension;
import io.disagg.openai.testing.RawHttp;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.RouterGrpc;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The router's HTTP front end and API keys, against simulated workers. */
@ExtendWith(NettyLeakDetectorExtension.class)
class RouterHttpTest {
  private static final String KEY = "sk-right";
  private static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private static RawHttp http(Cluster cluster) throws Exception {
    return new RawHttp("127.0.0.1", cluster.http.port());
  }

  private static RouterGrpc.RouterBlockingStub withAuthorization(Cluster cluster, String value) {
    Metadata headers = new Metadata();
    headers.put(AUTHORIZATION, value);
    return cluster.blocking().withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers));
  }

  @Test
  void http_missingOrWrongKey_401_rightKeyServes() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> {}, List.of(KEY, "sk-second"), true);
        RawHttp http = http(cluster)) {
      RawHttp.Response missing = http.get("/v1/models", Map.of());
      assertThat(missing.status()).isEqualTo(401);
      assertThat(missing.body()).contains("invalid_api_key");
      assertThat(http.get("/v1/models", Map.of("Authorization", "Bearer sk-wrong")).status()).isEqualTo(401);

      assertThat(http.get("/v1/models", Map.of("Authorization", "Bearer " + KEY)).status()).isEqualTo(200);
      RawHttp.Response completion = http.postJson("/v1/completions", Map.of("Authorization", "Bearer sk-second"),
          "{\"model\":\"simulated\",\"prompt\":\"hi\",\"max_tokens\":3}");
      assertThat(completion.status()).isEqualTo(200);
      assertThat(completion.body()).contains(SimulatedModel.text(SimulatedModel.promptIds("hi"), 3));
    }
  }

  @Test
  void grpc_missingOrWrongKey_unauthenticated_rightKeyServes() {
    try (Cluster cluster = new Cluster(0, 1, b -> {}, List.of(KEY), false)) {
      GenerateRequest request = GenerateRequest.newBuilder().setText("hi").setMaxTokens(2).build();

      assertThatThrownBy(() -> cluster.blocking().generate(request))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).contains("missing API key");
          });
      assertThatThrownBy(() -> withAuthorization(cluster, "Bearer sk-wrong").getModel(
          GetModelRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAUTHENTICATED);
            assertThat(e.getStatus().getDescription()).isEqualTo("API key not accepted");
          });
      assertThatThrownBy(() -> withAuthorization(cluster, KEY).getModel(GetModelRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getDescription()).contains("not a bearer token"));
      assertThat(cluster.decode.getFirst().decodeRequests).isEmpty();

      GenerateResponse response = withAuthorization(cluster, "Bearer " + KEY).generate(request);
      assertThat(response.getText()).isEqualTo(SimulatedModel.text(SimulatedModel.promptIds("hi"), 2));
    }
  }

  @Test
  void grpc_noKeysConfigured_staysOpen() {
    try (Cluster cluster = new Cluster(0, 1)) {
      assertThat(cluster.blocking().getModel(GetModelRequest.getDefaultInstance()).getName()).isEqualTo("simulated");
    }
  }

  @Test
  void health_followsDecodeWorkersInRotation_andNeedsNoKey() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> {}, List.of(KEY), true); RawHttp http = http(cluster)) {
      assertThat(http.get("/health", Map.of()).status()).isEqualTo(200);

      cluster.decode.getFirst().ready = false;
      cluster.poll();
      RawHttp.Response down = http.get("/health", Map.of());
      assertThat(down.status()).isEqualTo(503);
      assertThat(down.body()).contains("unavailable");

      cluster.decode.getFirst().ready = true;
      cluster.poll();
      assertThat(http.get("/health", Map.of()).status()).isEqualTo(200);
    }
  }

  @Test
  void streamedCompletion_clientDisconnectsDisaggregated_cancelsDecodeAndReleasesReservation() throws Exception {
    try (Cluster cluster = new Cluster(1, 1, b -> b.disaggregateThreshold(16), List.of(), true)) {
      SimulatedDecodeWorker decode = cluster.decode.getFirst();
      decode.stallAfterChunks = 2;
      try (RawHttp http = http(cluster)) {
        http.writeRequest("POST", "/v1/completions", Map.of("Content-Type", "application/json"),
            "{\"model\":\"simulated\",\"stream\":true,\"max_tokens\":50,"
                + "\"prompt\":\"a prompt well above the sixteen token threshold\"}");
        assertThat(http.readHead().status()).isEqualTo(200);
        http.readUntil("\"text\":\"");
        assertThat(decode.decodeStarts.poll(10, TimeUnit.SECONDS)).isNotNull();
      }

      String cancelled = decode.cancelledDecodes.poll(10, TimeUnit.SECONDS);
      assertThat(cancelled).as("decode stream cancelled").isNotNull();
      String released = decode.releases.poll(10, TimeUnit.SECONDS);
      assertThat(released).as("reservation released").isNotNull();
      assertThat(decode.hasReservation(released)).isFalse();
      assertThat(decode.reserveRequests).extracting(r -> r.getRequestId()).containsExactly(cancelled);
    }
  }

  @Test
  void streamedCompletion_clientDisconnectsColocated_cancelsDecodeWithoutReservation() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> {}, List.of(), true)) {
      SimulatedDecodeWorker decode = cluster.decode.getFirst();
      decode.stallAfterChunks = 1;
      try (RawHttp http = http(cluster)) {
        http.writeRequest("POST", "/v1/completions", Map.of("Content-Type", "application/json"),
            "{\"model\":\"simulated\",\"stream\":true,\"max_tokens\":50,\"prompt\":\"x\"}");
        assertThat(http.readHead().status()).isEqualTo(200);
        http.readUntil("\"text\":\"");
      }

      assertThat(decode.cancelledDecodes.poll(10, TimeUnit.SECONDS)).isNotNull();
      assertThat(decode.reserveRequests).isEmpty();
      assertThat(decode.releasedReservations).isEmpty();
    }
  }

  @Test
  void getModel_carriesBosAndEosTextFromTheTokenizer() {
    try (Cluster cluster = new Cluster(0, 1)) {
      ModelDescription model = cluster.blocking().getModel(GetModelRequest.getDefaultInstance());
      assertThat(model.getBosTokenId()).isEqualTo(SimulatedTokenizer.BOS);
      assertThat(model.getBosToken()).isEqualTo("<s>");
      assertThat(model.getEosToken()).isEqualTo("</s>");
    }
  }

  @Test
  void generate_withTopLogprobs_fillsTokenAndAlternativeTexts() {
    try (Cluster cluster = new Cluster(1, 1, b -> b.disaggregateThreshold(4), List.of(), false)) {
      GenerateResponse response = cluster.blocking().generate(GenerateRequest.newBuilder()
          .setText("long enough").setMaxTokens(3).setLogprobs(true).setTopLogprobs(2).build());

      assertThat(response.getServedBy().getPrefillWorker()).isEqualTo(cluster.prefill.getFirst().address());
      assertThat(response.getTokensList()).hasSize(3).allSatisfy(token -> {
        assertThat(token.getText()).isEqualTo(String.valueOf((char) token.getTokenId()));
        assertThat(token.getTopList()).hasSize(2).allSatisfy(
            alt -> assertThat(alt.getText()).isEqualTo(String.valueOf((char) alt.getTokenId())));
      });
    }
  }

  @Test
  void openAiHttpServer_requestTimeoutBoundsHttpGenerations() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> b.requestTimeout(Duration.ofMillis(300)), List.of(), true);
        RawHttp http = http(cluster)) {
      cluster.decode.getFirst().stallAfterChunks = 0;
      RawHttp.Response response = http.postJson("/v1/completions", Map.of(),
          "{\"model\":\"simulated\",\"prompt\":\"x\",\"max_tokens\":5}");
      assertThat(response.status()).isEqualTo(504);
      assertThat(cluster.decode.getFirst().cancelledDecodes.poll(10, TimeUnit.SECONDS)).isNotNull();
    }
  }

  @Test
  void completion_routerOverItsInFlightLimit_answers429WithRetryAfter() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> b.maxInFlight(1), List.of(), true);
        RawHttp busy = http(cluster);
        RawHttp http = http(cluster)) {
      cluster.decode.getFirst().stallAfterChunks = 0;
      busy.writeRequest("POST", "/v1/completions", Map.of("Content-Type", "application/json"),
          "{\"model\":\"simulated\",\"stream\":true,\"max_tokens\":5,\"prompt\":\"x\"}");
      assertThat(cluster.decode.getFirst().decodeStarts.poll(10, TimeUnit.SECONDS)).isNotNull();

      RawHttp.Response response = http.postJson("/v1/completions", Map.of(),
          "{\"model\":\"simulated\",\"prompt\":\"x\",\"max_tokens\":5}");

      assertThat(response.status()).isEqualTo(429);
      assertThat(response.header("retry-after")).isEqualTo("1");
      assertThat(response.body()).contains("retry after 1s");
    }
  }
}
