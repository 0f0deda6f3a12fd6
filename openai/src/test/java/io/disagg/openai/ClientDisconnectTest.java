package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.openai.testing.RawHttp;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A client that goes away mid-request cancels its generations in the service and frees their KV blocks. */
class ClientDisconnectTest {
  private SimulatedServer sim;

  @BeforeEach
  void start() {
    sim = SimulatedServer.open();
  }

  @AfterEach
  void stop() {
    sim.close();
  }

  @Test
  void chatStream_clientDisconnectsMidStream_cancelsEveryChoiceAndFreesKvBlocks() throws Exception {
    sim.service.pauseAfter(2);
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      http.writeRequest("POST", "/v1/chat/completions", Map.of("Content-Type", "application/json"),
          "{\"model\":\"sim-model\",\"stream\":true,\"n\":2,\"max_tokens\":20,"
              + "\"messages\":[{\"role\":\"user\",\"content\":\"tell me a long story\"}]}");
      RawHttp.Response head = http.readHead();
      assertThat(head.status()).isEqualTo(200);
      assertThat(head.header("Content-Type")).startsWith("text/event-stream");
      http.readUntil("\"content\":\"");
      assertThat(sim.service.pauses().poll(10, TimeUnit.SECONDS)).isNotNull();
      assertThat(sim.service.pauses().poll(10, TimeUnit.SECONDS)).isNotNull();
      assertThat(sim.service.kvBlocksInUse()).isPositive();
    }

    String first = sim.service.cancellations().poll(10, TimeUnit.SECONDS);
    String second = sim.service.cancellations().poll(10, TimeUnit.SECONDS);
    assertThat(first).isNotNull();
    assertThat(second).isNotNull().isNotEqualTo(first);
    assertThat(sim.service.kvBlocksInUse()).isZero();
    assertThat(sim.service.activeGenerations()).isZero();
    awaitNoInFlight();
  }

  @Test
  void nonStreamedCompletion_clientDisconnectsWhileWaiting_cancelsGeneration() throws Exception {
    sim.service.pauseAfter(1);
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      http.writeRequest("POST", "/v1/completions", Map.of("Content-Type", "application/json"),
          "{\"model\":\"sim-model\",\"prompt\":\"x\",\"max_tokens\":10}");
      assertThat(sim.service.pauses().poll(10, TimeUnit.SECONDS)).isNotNull();
    }
    assertThat(sim.service.cancellations().poll(10, TimeUnit.SECONDS)).isNotNull();
    assertThat(sim.service.kvBlocksInUse()).isZero();
    awaitNoInFlight();
  }

  @Test
  void serverClose_cancelsGenerationsInFlight() throws Exception {
    sim.service.pauseAfter(1);
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      http.writeRequest("POST", "/v1/completions", Map.of("Content-Type", "application/json"),
          "{\"model\":\"sim-model\",\"prompt\":\"x\",\"max_tokens\":10,\"stream\":true}");
      assertThat(sim.service.pauses().poll(10, TimeUnit.SECONDS)).isNotNull();
      sim.server.close();
      assertThat(sim.service.cancellations().poll(10, TimeUnit.SECONDS)).isNotNull();
      assertThat(sim.service.kvBlocksInUse()).isZero();
    }
  }

  /** The slot is freed on the event loop right after the cancel; a request proves the loop has run it. */
  private void awaitNoInFlight() throws Exception {
    try (RawHttp http = new RawHttp("127.0.0.1", sim.port())) {
      assertThat(http.get("/health", Map.of()).status()).isEqualTo(200);
    }
    assertThat(sim.server.inFlightRequests()).isZero();
  }
}
