package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.openai.testing.SimulatedInferenceService;
import java.util.List;
import org.junit.jupiter.api.Test;

class OpenAiHttpServerBuilderTest {
  private final SimulatedInferenceService service = new SimulatedInferenceService("m", 16, "");

  @Test
  void builder_rejectsInvalidValuesEagerly() {
    var b = OpenAiHttpServer.builder(service);
    assertThatThrownBy(() -> b.maxBodyBytes(0)).hasMessage("maxBodyBytes: 0 (expected: > 0)");
    assertThatThrownBy(() -> b.maxConcurrentRequests(-1)).hasMessage("maxConcurrentRequests: -1 (expected: > 0)");
    assertThatThrownBy(() -> b.port(70000)).hasMessage("port: 70000 (expected: 0..65535)");
    assertThatThrownBy(() -> b.apiKeys(List.of(" "))).hasMessageContaining("apiKeys");
    assertThatThrownBy(() -> b.ioThreads(0)).hasMessage("ioThreads: 0 (expected: > 0)");
    assertThatThrownBy(() -> OpenAiHttpServer.builder(null)).isInstanceOf(NullPointerException.class);
  }

  @Test
  void start_portZero_bindsEphemeralPortAndBaseUrlPointsAtIt() {
    try (OpenAiHttpServer server = OpenAiHttpServer.builder(service).port(0).build().start()) {
      assertThat(server.port()).isPositive();
      assertThat(server.baseUrl()).isEqualTo("http://127.0.0.1:" + server.port() + "/v1");
      assertThatThrownBy(server::start).isInstanceOf(IllegalStateException.class);
    } finally {
      service.close();
    }
  }
}
