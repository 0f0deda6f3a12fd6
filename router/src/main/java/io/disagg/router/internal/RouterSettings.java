package io.disagg.router.internal;

import io.disagg.router.CostModelClassifier;
import io.disagg.router.PrefixAwareSelector;
import io.disagg.router.RouterService;
import io.disagg.router.ThresholdClassifier;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * The router's settings, resolved per key from (highest first) a command-line flag, an environment variable
 * {@code DISAGG_<KEY>} ({@code grpc-port} → {@code DISAGG_GRPC_PORT}), a properties file with the flag names as keys,
 * and the default.
 */
public record RouterSettings(
    Path model,
    String host,
    int grpcPort,
    List<String> prefill,
    List<String> decode,
    int disaggregateThreshold,
    Duration healthInterval,
    Duration healthTimeout,
    int defaultMaxTokens,
    Duration requestTimeout,
    int maxAttempts,
    String httpHost,
    int httpPort,
    List<String> apiKeys,
    int maxBodyBytes,
    int maxConcurrentRequests,
    Policy policy,
    Resilience resilience,
    String metricsHost,
    int metricsPort) {

  /**
   * Which serve-mode policy, the cost model's parameters, and prefix-aware selection's ({@code prefixWeight}; the
   * index bound {@code prefixIndexMaxBlocks}).
   */
  public record Policy(String name, double kvBandwidthPrior, double prefillTokensPerSecondPrior, double hysteresis,
      double batchStallWeight, Duration overhead, double prefixWeight, int prefixIndexMaxBlocks) {}

  /** Circuit breakers, retry backoff and the front door's limits. */
  public record Resilience(int breakerWindow, int breakerMinimumCalls, float breakerFailureRate,
      Duration breakerOpenDuration, Duration retryBackoff, Duration retryBackoffMax, int maxInFlight,
      int rateLimit) {}

  public static final String DEFAULT_HOST = "127.0.0.1";
  /** {@code http-port} value (and default) meaning "no HTTP server". */
  public static final int HTTP_DISABLED = -1;
  public static final int DEFAULT_MAX_BODY_BYTES = 4 << 20;
  public static final int DEFAULT_MAX_CONCURRENT_REQUESTS = 256;
  /** {@code metrics-port} value (and default) meaning "no /metrics endpoint". */
  public static final int METRICS_DISABLED = -1;
  public static final String POLICY_COST = "cost";
  public static final String POLICY_THRESHOLD = "threshold";

  /**
   * @param httpHost address the OpenAI HTTP server binds (defaults to {@code host})
   * @param httpPort its port, 0 for an ephemeral one, {@link #HTTP_DISABLED} for none
   * @param apiKeys keys accepted on both the HTTP and the gRPC port; empty leaves both open
   */
  public RouterSettings {
    prefill = List.copyOf(prefill);
    decode = List.copyOf(decode);
    apiKeys = List.copyOf(apiKeys);
  }

  /** Whether the OpenAI HTTP server is to be started. */
  public boolean httpEnabled() {
    return httpPort != HTTP_DISABLED;
  }

  /** Whether {@code /metrics} is to be served. */
  public boolean metricsEnabled() {
    return metricsPort != METRICS_DISABLED;
  }

  /** Keys are secrets: never printed, e.g. when settings are logged. */
  @Override
  public String toString() {
    return "RouterSettings[model=%s, host=%s, grpcPort=%d, prefill=%s, decode=%s, disaggregateThreshold=%d,"
        .formatted(model, host, grpcPort, prefill, decode, disaggregateThreshold)
        + " healthInterval=%s, healthTimeout=%s, defaultMaxTokens=%d, requestTimeout=%s, maxAttempts=%d,"
        .formatted(healthInterval, healthTimeout, defaultMaxTokens, requestTimeout, maxAttempts)
        + " httpHost=%s, httpPort=%d, apiKeys=%d key(s), maxBodyBytes=%d, maxConcurrentRequests=%d,"
        .formatted(httpHost, httpPort, apiKeys.size(), maxBodyBytes, maxConcurrentRequests)
        + " policy=%s, resilience=%s, metricsHost=%s, metricsPort=%d]"
        .formatted(policy, resilience, metricsHost, metricsPort);
  }

  /**
   * @param flags values given on the command line, by key (flag name without dashes); absent keys were not given
   * @param env the process environment
   * @throws IllegalArgumentException naming the key, the value and what was expected
   */
  public static RouterSettings resolve(Map<String, String> flags, Map<String, String> env) {
    Properties file = new Properties();
    String config = first("config", flags, env, file);
    if (config != null) {
      Path path = Path.of(config);
      try (Reader in = Files.newBufferedReader(path)) {
        file.load(in);
      } catch (IOException e) {
        throw new IllegalArgumentException("config: cannot read %s: %s".formatted(path, e), e);
      }
    }
    String model = first("model", flags, env, file);
    if (model == null || model.isBlank()) {
      throw new IllegalArgumentException(
          "model: not set (expected: --model PATH, DISAGG_MODEL or model= in the config file)");
    }
    String host = orDefault(first("host", flags, env, file), DEFAULT_HOST);
    int port = integer("grpc-port", orDefault(first("grpc-port", flags, env, file), "0"), 0, 65535);
    List<String> prefill = list(first("prefill", flags, env, file));
    List<String> decode = list(first("decode", flags, env, file));
    if (decode.isEmpty()) {
      throw new IllegalArgumentException(
          "decode: none (expected: at least one --decode HOST:PORT, DISAGG_DECODE or decode= in the config file)");
    }
    int threshold = integer("disaggregate-threshold", orDefault(first("disaggregate-threshold", flags, env, file),
        String.valueOf(ThresholdClassifier.DEFAULT_THRESHOLD)), 1, Integer.MAX_VALUE);
    Duration healthInterval = Durations.parse("health-interval", orDefault(first("health-interval", flags, env, file),
        RouterService.DEFAULT_HEALTH_INTERVAL.toMillis() + "ms"));
    Duration healthTimeout = Durations.parse("health-timeout", orDefault(first("health-timeout", flags, env, file),
        RouterService.DEFAULT_HEALTH_TIMEOUT.toMillis() + "ms"));
    int maxTokens = integer("default-max-tokens", orDefault(first("default-max-tokens", flags, env, file),
        String.valueOf(RouterService.DEFAULT_MAX_TOKENS)), 1, Integer.MAX_VALUE);
    Duration requestTimeout = Durations.parse("request-timeout", orDefault(first("request-timeout", flags, env, file),
        RouterService.DEFAULT_REQUEST_TIMEOUT.toSeconds() + "s"));
    int maxAttempts = integer("max-attempts", orDefault(first("max-attempts", flags, env, file),
        String.valueOf(RouterService.DEFAULT_MAX_ATTEMPTS)), 1, 100);
    String httpHost = orDefault(first("http-host", flags, env, file), host);
    int httpPort = integer("http-port", orDefault(first("http-port", flags, env, file),
        String.valueOf(HTTP_DISABLED)), HTTP_DISABLED, 65535);
    List<String> apiKeys = new ArrayList<>(list(first("api-key", flags, env, file)));
    String keyFile = first("api-key-file", flags, env, file);
    if (keyFile != null && !keyFile.isBlank()) {
      apiKeys.addAll(readKeys(Path.of(keyFile.strip())));
    }
    int maxBodyBytes = integer("max-body-bytes", orDefault(first("max-body-bytes", flags, env, file),
        String.valueOf(DEFAULT_MAX_BODY_BYTES)), 1, Integer.MAX_VALUE);
    int maxConcurrent = integer("max-concurrent-requests", orDefault(first("max-concurrent-requests", flags, env,
        file), String.valueOf(DEFAULT_MAX_CONCURRENT_REQUESTS)), 1, Integer.MAX_VALUE);
    // Setting a threshold without naming a policy means the threshold rule: silently ignoring it would surprise.
    String defaultPolicy = first("disaggregate-threshold", flags, env, file) != null ? POLICY_THRESHOLD : POLICY_COST;
    String policyName = orDefault(first("policy", flags, env, file), defaultPolicy).strip().toLowerCase(Locale.ROOT);
    if (!policyName.equals(POLICY_COST) && !policyName.equals(POLICY_THRESHOLD)) {
      throw new IllegalArgumentException("policy: '%s' (expected: cost or threshold)".formatted(policyName));
    }
    Policy policy = new Policy(policyName,
        decimal("kv-bandwidth-prior", orDefault(first("kv-bandwidth-prior", flags, env, file),
            String.valueOf(CostModelClassifier.DEFAULT_KV_BANDWIDTH_PRIOR)), 1, 1e15),
        decimal("prefill-tokens-per-second-prior", orDefault(first("prefill-tokens-per-second-prior", flags, env,
            file), String.valueOf(CostModelClassifier.DEFAULT_PREFILL_TOKENS_PER_SECOND_PRIOR)), 1e-3, 1e9),
        decimal("hysteresis", orDefault(first("hysteresis", flags, env, file),
            String.valueOf(CostModelClassifier.DEFAULT_HYSTERESIS)), 0, 10),
        decimal("batch-stall-weight", orDefault(first("batch-stall-weight", flags, env, file),
            String.valueOf(CostModelClassifier.DEFAULT_BATCH_STALL_WEIGHT)), 0, 100),
        Durations.parse("disaggregation-overhead", orDefault(first("disaggregation-overhead", flags, env, file),
            CostModelClassifier.DEFAULT_OVERHEAD.toMillis() + "ms")),
        decimal("prefix-weight", orDefault(first("prefix-weight", flags, env, file),
            String.valueOf(PrefixAwareSelector.DEFAULT_PREFIX_WEIGHT)), 0, 1000),
        integer("prefix-index-max-blocks", orDefault(first("prefix-index-max-blocks", flags, env, file),
            String.valueOf(PrefixIndex.DEFAULT_MAX_BLOCKS)), 1, Integer.MAX_VALUE));
    Duration backoff = Durations.parse("retry-backoff", orDefault(first("retry-backoff", flags, env, file),
        RouterService.DEFAULT_RETRY_BACKOFF.toMillis() + "ms"));
    Duration backoffMax = Durations.parse("retry-backoff-max", orDefault(first("retry-backoff-max", flags, env,
        file), RouterService.DEFAULT_RETRY_BACKOFF_MAX.toMillis() + "ms"));
    if (backoffMax.compareTo(backoff) < 0) {
      throw new IllegalArgumentException("retry-backoff-max: %s (expected: >= retry-backoff %s)"
          .formatted(backoffMax, backoff));
    }
    Duration breakerOpen = Durations.parse("breaker-open-duration", orDefault(first("breaker-open-duration", flags,
        env, file), RouterService.DEFAULT_BREAKER_OPEN_DURATION.toSeconds() + "s"));
    if (breakerOpen.isZero()) {
      throw new IllegalArgumentException("breaker-open-duration: 0 (expected: > 0)");
    }
    Resilience resilience = new Resilience(
        integer("breaker-window", orDefault(first("breaker-window", flags, env, file),
            String.valueOf(RouterService.DEFAULT_BREAKER_WINDOW)), 1, 10_000),
        integer("breaker-minimum-calls", orDefault(first("breaker-minimum-calls", flags, env, file),
            String.valueOf(RouterService.DEFAULT_BREAKER_MINIMUM_CALLS)), 1, 10_000),
        (float) decimal("breaker-failure-rate", orDefault(first("breaker-failure-rate", flags, env, file),
            String.valueOf(RouterService.DEFAULT_BREAKER_FAILURE_RATE)), 1, 100),
        breakerOpen, backoff, backoffMax,
        integer("max-in-flight", orDefault(first("max-in-flight", flags, env, file),
            String.valueOf(RouterService.DEFAULT_MAX_IN_FLIGHT)), 1, Integer.MAX_VALUE),
        integer("rate-limit", orDefault(first("rate-limit", flags, env, file), "0"), 0, Integer.MAX_VALUE));
    String metricsHost = orDefault(first("metrics-host", flags, env, file), host);
    int metricsPort = integer("metrics-port", orDefault(first("metrics-port", flags, env, file),
        String.valueOf(METRICS_DISABLED)), METRICS_DISABLED, 65535);
    return new RouterSettings(Path.of(model), host, port, prefill, decode, threshold, healthInterval, healthTimeout,
        maxTokens, requestTimeout, maxAttempts, httpHost, httpPort, apiKeys.stream().distinct().toList(),
        maxBodyBytes, maxConcurrent, policy, resilience, metricsHost, metricsPort);
  }

  /**
   * One key per line; blank lines and {@code #} comments are skipped. A file without a single key is an error: the
   * operator asked for protection, and an empty file must not silently leave the API open.
   */
  private static List<String> readKeys(Path path) {
    List<String> keys = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(path)) {
        String key = line.strip();
        if (!key.isEmpty() && !key.startsWith("#")) {
          keys.add(key);
        }
      }
    } catch (IOException e) {
      throw new IllegalArgumentException("api-key-file: cannot read %s: %s".formatted(path, e), e);
    }
    if (keys.isEmpty()) {
      throw new IllegalArgumentException("api-key-file: %s holds no key (expected: one key per line)".formatted(path));
    }
    return keys;
  }

  /** The environment variable for a key: {@code grpc-port} → {@code DISAGG_GRPC_PORT}. */
  public static String envName(String key) {
    return "DISAGG_" + key.toUpperCase(Locale.ROOT).replace('-', '_');
  }

  private static String first(String key, Map<String, String> flags, Map<String, String> env, Properties file) {
    String flag = flags.get(key);
    if (flag != null) {
      return flag;
    }
    String fromEnv = env.get(envName(key));
    if (fromEnv != null && !fromEnv.isBlank()) {
      return fromEnv;
    }
    String fromFile = file.getProperty(key);
    return fromFile == null ? null : fromFile.strip();
  }

  private static String orDefault(String value, String fallback) {
    return value == null || value.isBlank() ? fallback : value;
  }

  private static List<String> list(String value) {
    List<String> out = new ArrayList<>();
    if (value != null) {
      for (String part : value.split(",")) {
        if (!part.isBlank()) {
          out.add(part.strip());
        }
      }
    }
    return out;
  }

  private static double decimal(String key, String value, double min, double max) {
    try {
      double v = Double.parseDouble(value.strip());
      if (v >= min && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // falls through to the message below
    }
    throw new IllegalArgumentException("%s: '%s' (expected: a number in %s..%s)".formatted(key, value, min, max));
  }

  private static int integer(String key, String value, int min, int max) {
    try {
      int v = Integer.parseInt(value.strip());
      if (v >= min && v <= max) {
        return v;
      }
    } catch (NumberFormatException e) {
      // falls through to the message below
    }
    throw new IllegalArgumentException("%s: '%s' (expected: an integer in %d..%d)".formatted(key, value, min, max));
  }
}
