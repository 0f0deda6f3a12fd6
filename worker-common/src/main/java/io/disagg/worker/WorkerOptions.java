package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The flags every worker has, as a picocli mixin ({@code @Mixin WorkerOptions options;}): the model and backend,
 * the backend's own options, the gRPC bind address, the {@code /metrics} port, the kv-transfer secret and the
 * {@code --config} file read by {@link LayeredDefaults}. Flags whose meaning or default differs per worker stay in the
 * worker's command.
 */
public final class WorkerOptions {
  @Spec(Spec.Target.MIXEE)
  private CommandSpec mixee;

  @Option(names = "--model", required = true, description = "GGUF model file.")
  private Path model;

  @Option(names = "--backend", defaultValue = "java", description = "Backend name (default: ${DEFAULT-VALUE}).")
  private String backend;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
  private String host;

  @Option(names = "--grpc-port", defaultValue = "0", description = "gRPC port; 0 picks one (default: 0).")
  private int grpcPort;

  @Option(names = "--kv-secret", description = "Shared secret kv-transfer peers must prove (env DISAGG_KV_SECRET).")
  private String kvSecret;

  @Option(names = "--threads", defaultValue = "1", description = "Backend compute threads (default: ${DEFAULT-VALUE}).")
  private int threads;

  @Option(names = "--kv-blocks", defaultValue = "1024", description = "KV pool blocks (default: ${DEFAULT-VALUE}).")
  private int kvBlocks;

  @Option(names = "--block-tokens", defaultValue = "16", description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
  private int blockTokens;

  // split on commas so the config file and DISAGG_BACKEND_OPTION can hold several (a value cannot hold a comma)
  @Option(names = "--backend-option", paramLabel = "KEY=VALUE", split = ",",
      description = "Backend setting, repeatable (e.g. java.prefix-cache=false); see the backend's README. In the "
          + "config file or DISAGG_BACKEND_OPTION: a comma-separated list, which --backend-option flags replace.")
  private Map<String, String> backendOptions;

  @Option(names = "--metrics-port", defaultValue = "-1",
      description = "Port of GET /metrics (Prometheus text format) on --host; 0 picks one, -1 serves none "
          + "(default: ${DEFAULT-VALUE}).")
  private int metricsPort;

  @Option(names = "--config", description = "Properties file with the same keys as the flags (e.g. kv-blocks=512).")
  private Path config;

  public String host() {
    return host;
  }

  public int grpcPort() {
    return grpcPort;
  }

  /** The {@code --metrics-port}: -1 serves no {@code /metrics}, 0 picks a free port. */
  public int metricsPort() {
    return metricsPort;
  }

  /**
   * When {@code --metrics-port} is not -1, gives {@code builder} a fresh Prometheus registry (for the worker's meters
   * and kv-transfer's) and the port to serve it on; otherwise leaves it as it is.
   *
   * @throws IllegalArgumentException when the port is out of range (a usage error inside {@link WorkerCli#configure})
   */
  public <B extends WorkerServerBuilder<B>> B applyMetrics(B builder) {
    if (metricsPort == -1) {
      return builder;
    }
    return builder.metricsPort(metricsPort).meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT));
  }

  /**
   * The {@code --kv-secret}.
   *
   * @param peers who shares it, for the message when it is missing ({@code "prefill workers"})
   * @throws CommandLine.ParameterException when it is missing (a usage error)
   */
  public String requireKvSecret(CommandLine.Model.CommandSpec spec, String peers) {
    if (kvSecret == null) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "Missing --kv-secret (or DISAGG_KV_SECRET): the secret shared with " + peers + ", >= 16 bytes");
    }
    return kvSecret;
  }

  /**
   * Opens the {@code --backend} on the {@code --model} with the thread, KV pool and {@code --backend-option} flags;
   * the caller owns it.
   *
   * @throws CommandLine.ParameterException when the backend or the config refuses a setting (a usage error)
   */
  public Backend openBackend(int maxBatchTokens) {
    try {
      return Backends.open(backend, backendConfig(maxBatchTokens));
    } catch (IllegalArgumentException e) {
      // an unknown backend name, a count out of range or an option the backend refuses: all come from flags
      throw new CommandLine.ParameterException(mixee.commandLine(), e.getMessage(), e);
    }
  }

  /**
   * The config {@link #openBackend} opens the backend with.
   *
   * @throws CommandLine.ParameterException when a {@code --backend-option} has no key (a usage error)
   */
  BackendConfig backendConfig(int maxBatchTokens) {
    BackendConfig.Builder config = BackendConfig.builder(model)
        .threads(threads)
        .kvBlocks(kvBlocks)
        .blockTokens(blockTokens)
        .maxBatchTokens(maxBatchTokens);
    if (backendOptions != null) {
      for (Map.Entry<String, String> option : backendOptions.entrySet()) {
        String key = option.getKey().trim();
        if (key.isEmpty()) {
          throw new CommandLine.ParameterException(mixee.commandLine(), "--backend-option: ="
              + option.getValue() + " (expected: KEY=VALUE with a non-empty KEY)");
        }
        config.option(key, option.getValue().trim());
      }
    }
    return config.build();
  }
}
