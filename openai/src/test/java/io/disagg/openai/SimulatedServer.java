package io.disagg.openai;

import io.disagg.openai.testing.SimulatedInferenceService;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.SplittableRandom;

/** A started {@link OpenAiHttpServer} on an ephemeral loopback port in front of a {@link SimulatedInferenceService}. */
final class SimulatedServer implements AutoCloseable {
  static final String MODEL = "sim-model";
  static final String KEY = "sk-test-key";
  static final int CONTEXT = 64;
  static final Instant NOW = Instant.parse("2025-06-01T12:00:00Z");
  /** ChatML, as shipped in Qwen-family GGUF files, including the raise_exception guard they carry. */
  static final String CHATML = """
      {%- for message in messages %}
      {%- if message['role'] not in ['system', 'user', 'assistant'] %}{{ raise_exception('Unexpected role ' + message['role']) }}{% endif %}
      {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}
      {%- endfor %}
      {%- if add_generation_prompt %}
      {{- '<|im_start|>assistant\\n' }}
      {%- endif %}
      """;

  final SimulatedInferenceService service;
  final OpenAiHttpServer server;

  SimulatedServer(List<String> keys, int maxConcurrent, int maxBodyBytes) {
    service = new SimulatedInferenceService(MODEL, CONTEXT, CHATML);
    server = OpenAiHttpServer.builder(service)
        .host("127.0.0.1").port(0)
        .apiKeys(keys)
        .maxConcurrentRequests(maxConcurrent)
        .maxBodyBytes(maxBodyBytes)
        .clock(Clock.fixed(NOW, ZoneOffset.UTC))
        .random(new SplittableRandom(42))
        .build()
        .start();
  }

  static SimulatedServer open() {
    return new SimulatedServer(List.of(), 64, 64 * 1024);
  }

  static SimulatedServer withKey() {
    return new SimulatedServer(List.of(KEY), 64, 64 * 1024);
  }

  int port() {
    return server.port();
  }

  @Override
  public void close() {
    server.close();
    service.close();
  }
}
