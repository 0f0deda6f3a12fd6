package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RouterSettingsTest {
  @TempDir
  Path dir;

  @Test
  void resolve_flagBeatsEnvBeatsFileBeatsDefault() throws IOException {
    Path config = dir.resolve("router.properties");
    Files.writeString(config, """
        model=/file/model.gguf
        decode=file-d:1,file-d:2
        prefill=file-p:1
        disaggregate-threshold=300
        health-interval=5s
        """);
    Map<String, String> env = Map.of(
        "DISAGG_CONFIG", config.toString(),
        "DISAGG_DECODE", "env-d:1",
        "DISAGG_DISAGGREGATE_THRESHOLD", "200");
    Map<String, String> flags = Map.of("disaggregate-threshold", "100");

    RouterSettings s = RouterSettings.resolve(flags, env);

    assertThat(s.disaggregateThreshold()).isEqualTo(100);
    assertThat(s.decode()).containsExactly("env-d:1");
    assertThat(s.prefill()).containsExactly("file-p:1");
    assertThat(s.model()).isEqualTo(Path.of("/file/model.gguf"));
    assertThat(s.healthInterval()).isEqualTo(Duration.ofSeconds(5));
    assertThat(s.host()).isEqualTo("127.0.0.1");
    assertThat(s.grpcPort()).isZero();
    assertThat(s.defaultMaxTokens()).isEqualTo(256);
    assertThat(s.requestTimeout()).isEqualTo(Duration.ofMinutes(5));
  }

  @Test
  void resolve_missingModelOrDecode_explainsWhereToSetIt() {
    assertThatThrownBy(() -> RouterSettings.resolve(Map.of("decode", "d:1"), Map.of()))
        .hasMessageContaining("model: not set").hasMessageContaining("DISAGG_MODEL");
    assertThatThrownBy(() -> RouterSettings.resolve(Map.of("model", "m.gguf"), Map.of()))
        .hasMessageContaining("decode: none");
  }

  @Test
  void resolve_badValues_namesKeyAndExpectation() {
    Map<String, String> base = Map.of("model", "m.gguf", "decode", "d:1");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "grpc-port", "70000"), Map.of()))
        .hasMessage("grpc-port: '70000' (expected: an integer in 0..65535)");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "health-interval", "soon"), Map.of()))
        .hasMessageContaining("health-interval: 'soon'");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "disaggregate-threshold", "0"), Map.of()))
        .hasMessageContaining("disaggregate-threshold: '0'");
  }

  @Test
  void parse_durationForms() {
    assertThat(Durations.parse("k", "250ms")).isEqualTo(Duration.ofMillis(250));
    assertThat(Durations.parse("k", "2s")).isEqualTo(Duration.ofSeconds(2));
    assertThat(Durations.parse("k", "5m")).isEqualTo(Duration.ofMinutes(5));
    assertThat(Durations.parse("k", "PT1.5S")).isEqualTo(Duration.ofMillis(1500));
    assertThat(Durations.parse("k", "0s")).isZero();
  }

  private static Map<String, String> with(Map<String, String> base, String key, String value) {
    var m = new java.util.HashMap<>(base);
    m.put(key, value);
    return m;
  }
}
