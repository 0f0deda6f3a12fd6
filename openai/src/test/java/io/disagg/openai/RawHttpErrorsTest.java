package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.disagg.openai.testing.RawHttp;
import io.grpc.Status;
import java.io.IOException;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every malformed or refused input over raw HTTP: the right status, an OpenAI error body naming the parameter, and a
 * server that still serves (on the same connection when it stays open).
 */
class RawHttpErrorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Map<String, String> AUTH = Map.of("Authorization", "Bearer " + SimulatedServer.KEY);
  private SimulatedServer sim;

  @BeforeEach
  void start() {
    sim = new SimulatedServer(java.util.List.of(SimulatedServer.KEY), 64, 2048);
  }

  @AfterEach
  void stop() {
    sim.close();
  }

  static Stream<Arguments> badBodies() {
    String m = "\"model\":\"sim-model\"";
    return Stream.of(
        Arguments.of("/v1/completions", "{not json", null, "invalid_json"),
        Arguments.of("/v1/completions", "[1,2]", null, "invalid_json"),
        Arguments.of("/v1/completions", "{\"prompt\":\"x\"}", "model", "invalid_value"),
        Arguments.of("/v1/completions", "{\"model\":5,\"prompt\":\"x\"}", "model", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + "}", "prompt", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":{}}", "prompt", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":[\"a\",1]}", "prompt", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":[-1]}", "prompt", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":[5000]}", "prompt", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"max_tokens\":\"5\"}", "max_tokens",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"max_tokens\":0}", "max_tokens",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"max_tokens\":1.5}", "max_tokens",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"temperature\":2.5}", "temperature",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"top_p\":-0.1}", "top_p", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"n\":0}", "n", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}",
            "stop", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"stop\":[1]}", "stop", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"seed\":\"1\"}", "seed", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"stream\":\"yes\"}", "stream",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"stream_options\":{\"include_usage\":true}}",
            "stream_options", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"presence_penalty\":3}", "presence_penalty",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"frequency_penalty\":-2.01}",
            "frequency_penalty", "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"logprobs\":21}", "logprobs",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"logit_bias\":{\"5\":1}}", "logit_bias",
            "invalid_value"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"x\",\"max_tokens\":64}", "prompt",
            "context_length_exceeded"),
        Arguments.of("/v1/completions", "{" + m + ",\"prompt\":\"" + "w ".repeat(70) + "\"}", "prompt",
            "context_length_exceeded"),
        Arguments.of("/v1/chat/completions", "{" + m + "}", "messages", "invalid_value"),
        Arguments.of("/v1/chat/completions", "{" + m + ",\"messages\":[]}", "messages", "invalid_value"),
        Arguments.of("/v1/chat/completions", "{" + m + ",\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
            "messages[0].role", "invalid_value"),
        Arguments.of("/v1/chat/completions", "{" + m + ",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
            "messages[0].content", "invalid_value"),
        Arguments.of("/v1/chat/completions",
            "{" + m + ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
            "messages[0].content[0].type", "invalid_value"),
        Arguments.of("/v1/chat/completions",
            "{" + m + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"top_logprobs\":2}", "top_logprobs",
            "invalid_value"),
        Arguments.of("/v1/chat/completions",
            "{" + m + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_completion_tokens\":-1}",
            "max_completion_tokens", "invalid_value"),
        Arguments.of("/v1/chat/completions",
            "{" + m + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":[{\"type\":\"function\"}]}",
            "tools", "invalid_value"),
        Arguments.of("/v1/chat/completions",
            "{" + m + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"logprobs\":1}", "logprobs",
            "invalid_value"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("badBodies")
  void malformedRequest_gets400NamingTheParameter_andConnectionStillServes(String path, String body, String param,
                                                                            String code) throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      RawHttp.Response response = http.postJson(path, AUTH, body);

      assertThat(response.status()).as(response.body()).isEqualTo(400);
      JsonNode error = errorOf(response);
      assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
      assertThat(error.path("param").isNull() ? null : error.path("param").asText()).isEqualTo(param);
      assertThat(error.path("code").asText()).isEqualTo(code);
      assertThat(error.path("message").asText()).isNotBlank();
      assertThat(sim.service.requests()).isEmpty();
      assertStillServes(http);
    }
  }

  @Test
  void unknownFields_areIgnored() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      RawHttp.Response response = http.postJson("/v1/completions", AUTH,
          "{\"model\":\"sim-model\",\"prompt\":\"x\",\"max_tokens\":1,\"user\":\"u1\",\"some_future_field\":[1]}");
      assertThat(response.status()).as(response.body()).isEqualTo(200);
    }
  }

  @Test
  void missingApiKey_gets401WithBearerChallenge() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      RawHttp.Response response = http.get("/v1/models", Map.of());
      assertThat(response.status()).isEqualTo(401);
      assertThat(response.header("WWW-Authenticate")).isEqualTo("Bearer");
      assertThat(errorOf(response).path("code").asText()).isEqualTo("invalid_api_key");

      RawHttp.Response wrong = http.get("/v1/models", Map.of("Authorization", "Bearer nope"));
      assertThat(wrong.status()).isEqualTo(401);
      assertThat(errorOf(wrong).path("message").asText()).contains("Incorrect API key");
      assertStillServes(http);
    }
  }

  @Test
  void health_isOpenWithoutKeyAndFollowsReadiness() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      assertThat(http.get("/health", Map.of()).status()).isEqualTo(200);
      sim.service.ready(false);
      RawHttp.Response down = http.get("/health", Map.of());
      assertThat(down.status()).isEqualTo(503);
      assertThat(down.body()).contains("unavailable");
      sim.service.ready(true);
      assertThat(http.get("/health", Map.of()).status()).isEqualTo(200);
    }
  }

  @Test
  void unknownRoute_gets404AndUnknownModel_gets404() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      RawHttp.Response route = http.postJson("/v1/embeddings", AUTH, "{}");
      assertThat(route.status()).isEqualTo(404);
      assertThat(errorOf(route).path("message").asText()).contains("/v1/embeddings");

      RawHttp.Response model = http.postJson("/v1/chat/completions", AUTH,
          "{\"model\":\"gpt-4\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
      assertThat(model.status()).isEqualTo(404);
      assertThat(errorOf(model).path("code").asText()).isEqualTo("model_not_found");
      assertThat(errorOf(model).path("param").asText()).isEqualTo("model");

      assertThat(http.get("/v1/models/gpt-4", AUTH).status()).isEqualTo(404);
      assertStillServes(http);
    }
  }

  @Test
  void wrongMethod_gets405() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      RawHttp.Response get = http.get("/v1/completions", AUTH);
      assertThat(get.status()).isEqualTo(405);
      assertThat(errorOf(get).path("code").asText()).isEqualTo("method_not_allowed");
      RawHttp.Response post = http.postJson("/v1/models", AUTH, "{}");
      assertThat(post.status()).isEqualTo(405);
      assertStillServes(http);
    }
  }

  @Test
  void bodyOverLimit_gets413WithErrorBody_andServerStillServes() throws Exception {
    String big = "{\"model\":\"sim-model\",\"prompt\":\"" + "x".repeat(4096) + "\"}";
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      RawHttp.Response response = http.postJson("/v1/completions", AUTH, big);
      assertThat(response.status()).isEqualTo(413);
      assertThat(errorOf(response).path("code").asText()).isEqualTo("request_too_large");
      assertThat(errorOf(response).path("message").asText()).contains("2048");
    }
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      assertStillServes(http);
    }
  }

  @Test
  void bodyOverLimitWithExpectContinue_gets413WithErrorBody() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      http.writeRaw(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
          + "Authorization: Bearer " + SimulatedServer.KEY + "\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n")
          .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      RawHttp.Response response = http.readResponse();
      assertThat(response.status()).isEqualTo(413);
      assertThat(errorOf(response).path("code").asText()).isEqualTo("request_too_large");
    }
  }

  @Test
  void serviceStatuses_mapToOpenAiStatuses() throws Exception {
    Map<Status, Integer> expected = Map.of(
        Status.RESOURCE_EXHAUSTED, 429,
        Status.UNAVAILABLE, 503,
        Status.INVALID_ARGUMENT.withDescription("prompt has an unknown token"), 400,
        Status.INTERNAL, 500,
        Status.DEADLINE_EXCEEDED, 504);
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      for (var entry : expected.entrySet()) {
        sim.service.failNewGenerations(entry.getKey());
        RawHttp.Response response = http.postJson("/v1/completions", AUTH,
            "{\"model\":\"sim-model\",\"prompt\":\"x\",\"max_tokens\":1}");
        assertThat(response.status()).as(entry.getKey().toString()).isEqualTo(entry.getValue());
        assertThat(errorOf(response).has("type")).isTrue();
        if (entry.getValue() == 429 || entry.getValue() == 503) {
          assertThat(response.header("Retry-After")).isEqualTo("1");
        }
      }
      sim.service.failNewGenerations(null);
      assertStillServes(http);
    }
    assertThat(sim.server.inFlightRequests()).isZero();
  }

  @Test
  void pipelinedRequests_areAnsweredInOrder() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      http.writeRequest("POST", "/v1/completions", Map.of("Authorization", "Bearer " + SimulatedServer.KEY),
          "{\"model\":\"sim-model\",\"prompt\":\"x\",\"max_tokens\":2}");
      http.writeRequest("GET", "/health", Map.of(), null);
      http.writeRequest("GET", "/v1/models", AUTH, null);
      RawHttp.Response first = http.readResponse();
      RawHttp.Response second = http.readResponse();
      RawHttp.Response third = http.readResponse();
      assertThat(JSON.readTree(first.body()).path("object").asText()).isEqualTo("text_completion");
      assertThat(second.body()).contains("\"status\":\"ok\"");
      assertThat(JSON.readTree(third.body()).path("object").asText()).isEqualTo("list");
    }
  }

  @Test
  void malformedHttp_gets400AndClose() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      http.writeRaw("GARBAGE\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
      RawHttp.Response response = http.readResponse();
      assertThat(response.status()).isEqualTo(400);
    }
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      assertStillServes(http);
    }
  }

  private static JsonNode errorOf(RawHttp.Response response) throws IOException {
    assertThat(response.header("Content-Type")).startsWith("application/json");
    JsonNode root = JSON.readTree(response.body());
    assertThat(root.has("error")).as(response.body()).isTrue();
    JsonNode error = root.get("error");
    assertThat(error.has("message") && error.has("type") && error.has("param") && error.has("code")).isTrue();
    return error;
  }

  private static void assertStillServes(RawHttp http) throws IOException {
    RawHttp.Response ok = http.postJson("/v1/completions", AUTH,
        "{\"model\":\"sim-model\",\"prompt\":\"still alive\",\"max_tokens\":1}");
    assertThat(ok.status()).as(ok.body()).isEqualTo(200);
  }
}
