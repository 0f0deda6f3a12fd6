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
  void resolve_httpDefaults_disabledOnHostWithOpenApi() {
    RouterSettings s = RouterSettings.resolve(Map.of("model", "m.gguf", "decode", "d:1", "host", "10.0.0.1"),
        Map.of());

    assertThat(s.httpEnabled()).isFalse();
    assertThat(s.httpPort()).isEqualTo(RouterSettings.HTTP_DISABLED);
    assertThat(s.httpHost()).isEqualTo("10.0.0.1");
    assertThat(s.apiKeys()).isEmpty();
    assertThat(s.maxBodyBytes()).isEqualTo(4 << 20);
    assertThat(s.maxConcurrentRequests()).isEqualTo(256);
  }

  @Test
  void resolve_httpAndKeys_flagBeatsEnvBeatsFile_keyFileAddsKeys() throws IOException {
    Path keys = dir.resolve("keys.txt");
    Files.writeString(keys, "# operators\nsk-file-1\n\n  sk-file-2  \nsk-flag\n");
    Path config = dir.resolve("router.properties");
    Files.writeString(config, "http-port=9000\nhttp-host=0.0.0.0\napi-key=sk-config\nmax-body-bytes=1024\n");
    Map<String, String> env = Map.of("DISAGG_CONFIG", config.toString(), "DISAGG_API_KEY", "sk-env",
        "DISAGG_API_KEY_FILE", keys.toString(), "DISAGG_HTTP_PORT", "9100", "DISAGG_MAX_CONCURRENT_REQUESTS", "8");
    Map<String, String> flags = Map.of("model", "m.gguf", "decode", "d:1", "http-port", "0",
        "api-key", "sk-flag,sk-flag-2");

    RouterSettings s = RouterSettings.resolve(flags, env);

    assertThat(s.httpPort()).isZero();
    assertThat(s.httpEnabled()).isTrue();
    assertThat(s.httpHost()).isEqualTo("0.0.0.0");
    assertThat(s.apiKeys()).containsExactly("sk-flag", "sk-flag-2", "sk-file-1", "sk-file-2");
    assertThat(s.maxBodyBytes()).isEqualTo(1024);
    assertThat(s.maxConcurrentRequests()).isEqualTo(8);
    assertThat(s.toString()).doesNotContain("sk-").contains("apiKeys=4 key(s)");
  }

  @Test
  void resolve_envApiKeyAlone_protects() {
    RouterSettings s = RouterSettings.resolve(Map.of("model", "m.gguf", "decode", "d:1"),
        Map.of("DISAGG_API_KEY", "sk-env"));
    assertThat(s.apiKeys()).containsExactly("sk-env");
  }

  @Test
  void resolve_badHttpValues_namesKeyAndExpectation() throws IOException {
    Map<String, String> base = Map.of("model", "m.gguf", "decode", "d:1");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "http-port", "-2"), Map.of()))
        .hasMessage("http-port: '-2' (expected: an integer in -1..65535)");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "max-body-bytes", "0"), Map.of()))
        .hasMessageContaining("max-body-bytes: '0'");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "max-concurrent-requests", "x"), Map.of()))
        .hasMessageContaining("max-concurrent-requests: 'x'");
    Path empty = Files.writeString(dir.resolve("empty.txt"), "# no keys yet\n\n");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "api-key-file", empty.toString()), Map.of()))
        .hasMessageContaining("api-key-file:").hasMessageContaining("holds no key");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "api-key-file", dir.resolve("missing").toString()),
        Map.of())).hasMessageContaining("api-key-file: cannot read");
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

  @Test
  void resolve_policyAndResilienceDefaults_areCostPolicyGenerousLimitsNoMetrics() {
    RouterSettings s = RouterSettings.resolve(Map.of("model", "m.gguf", "decode", "d:1"), Map.of());

    assertThat(s.policy().name()).isEqualTo(RouterSettings.POLICY_COST);
    assertThat(s.policy().kvBandwidthPrior()).isEqualTo(1.25e9);
    assertThat(s.policy().hysteresis()).isEqualTo(0.2);
    assertThat(s.policy().overhead()).isEqualTo(Duration.ofMillis(2));
    assertThat(s.resilience().maxInFlight()).isEqualTo(1024);
    assertThat(s.resilience().rateLimit()).isZero();
    assertThat(s.resilience().breakerOpenDuration()).isEqualTo(Duration.ofSeconds(10));
    assertThat(s.metricsEnabled()).isFalse();
  }

  @Test
  void resolve_prefixSettings_defaultsAndOverrides() {
    Map<String, String> base = Map.of("model", "m.gguf", "decode", "d:1");
    RouterSettings defaults = RouterSettings.resolve(base, Map.of());
    RouterSettings set = RouterSettings.resolve(with(base, "prefix-weight", "2.5"),
        Map.of("DISAGG_PREFIX_INDEX_MAX_BLOCKS", "4096"));

    assertThat(defaults.policy().prefixWeight()).isEqualTo(2.0);
    assertThat(defaults.policy().prefixIndexMaxBlocks()).isEqualTo(1 << 20);
    assertThat(set.policy().prefixWeight()).isEqualTo(2.5);
    assertThat(set.policy().prefixIndexMaxBlocks()).isEqualTo(4096);
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "prefix-weight", "-1"), Map.of()))
        .hasMessageContaining("prefix-weight: '-1'");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "prefix-index-max-blocks", "0"), Map.of()))
        .hasMessageContaining("prefix-index-max-blocks: '0'");
  }

  @Test
  void resolve_thresholdWithoutPolicy_selectsThresholdPolicy() {
    RouterSettings s = RouterSettings.resolve(
        Map.of("model", "m.gguf", "decode", "d:1", "disaggregate-threshold", "64"), Map.of());

    assertThat(s.policy().name()).isEqualTo(RouterSettings.POLICY_THRESHOLD);
    assertThat(s.disaggregateThreshold()).isEqualTo(64);
  }

  @Test
  void resolve_thresholdWithExplicitCostPolicy_keepsCostPolicy() {
    RouterSettings s = RouterSettings.resolve(
        Map.of("model", "m.gguf", "decode", "d:1", "disaggregate-threshold", "64", "policy", "cost"), Map.of());

    assertThat(s.policy().name()).isEqualTo(RouterSettings.POLICY_COST);
  }

  @Test
  void resolve_policyFromEnvAndMetricsPortFromFlag() {
    RouterSettings s = RouterSettings.resolve(Map.of("model", "m.gguf", "decode", "d:1", "metrics-port", "0",
        "rate-limit", "50"), Map.of("DISAGG_POLICY", "Threshold", "DISAGG_MAX_IN_FLIGHT", "64"));

    assertThat(s.policy().name()).isEqualTo(RouterSettings.POLICY_THRESHOLD);
    assertThat(s.resilience().maxInFlight()).isEqualTo(64);
    assertThat(s.resilience().rateLimit()).isEqualTo(50);
    assertThat(s.metricsEnabled()).isTrue();
    assertThat(s.metricsHost()).isEqualTo("127.0.0.1");
  }

  @Test
  void resolve_badPolicyOrBackoff_namesKeyAndExpectation() {
    Map<String, String> base = Map.of("model", "m.gguf", "decode", "d:1");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "policy", "random"), Map.of()))
        .hasMessage("policy: 'random' (expected: cost or threshold)");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "retry-backoff", "1s"), Map.of()))
        .hasMessageContaining("retry-backoff-max");
    assertThatThrownBy(() -> RouterSettings.resolve(with(base, "hysteresis", "-1"), Map.of()))
        .hasMessageContaining("hysteresis: '-1'");
  }
}
