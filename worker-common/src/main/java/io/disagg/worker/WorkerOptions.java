package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The flags every worker has, as a picocli mixin ({@code @Mixin WorkerOptions options;}): the model and backend,
 * the backend's own options, the gRPC bind address, the {@code /metrics} port, the kv-transfer secret, the kv-transfer
 * TLS files and the {@code --config} file read by {@link LayeredDefaults}. Flags whose meaning or default differs per
 * worker stay in the worker's command.
 *
 * <p>The TLS flags are here, although each is used by one kind of worker only, so that a fleet can keep them in one
 * {@code --config} file or environment: a worker ignores the other kind's TLS files when they come from there, and
 * refuses them as a usage error on its command line ({@link #kvTlsServerFiles()}, {@link #kvTlsTrustFile()}).
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

  @Option(names = "--kv-tls-cert", paramLabel = "FILE",
      description = "Decode workers: PEM certificate chain their kv-transfer server presents; with --kv-tls-key, "
          + "kv-transfer is TLS only (env DISAGG_KV_TLS_CERT).")
  private Path kvTlsCert;

  @Option(names = "--kv-tls-key", paramLabel = "FILE",
      description = "Decode workers: PEM PKCS#8 private key of --kv-tls-cert (env DISAGG_KV_TLS_KEY).")
  private Path kvTlsKey;

  @Option(names = "--kv-tls-trust", paramLabel = "FILE",
      description = "Prefill workers: PEM certificate(s) trusted for decode workers' kv-transfer servers; pushes use "
          + "TLS. Host names are not verified: --kv-secret authenticates peers, TLS adds confidentiality "
          + "(env DISAGG_KV_TLS_TRUST).")
  private Path kvTlsTrust;

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
   * The decode worker's {@code --kv-tls-cert} and {@code --kv-tls-key}: two readable files, or null when neither is set
   * (kv-transfer stays plaintext). Whether they hold PEM the worker learns when it makes its TLS context.
   *
   * @throws CommandLine.ParameterException when only one of the two is set, a file cannot be read, or
   *     {@code --kv-tls-trust} is on the command line (usage errors)
   */
  public KvTlsFiles kvTlsServerFiles() {
    refuseOnCommandLine("--kv-tls-trust", "prefill workers", "a decode worker's kv-transfer server presents "
        + "--kv-tls-cert and --kv-tls-key");
    if (kvTlsCert == null && kvTlsKey == null) {
      return null;
    }
    if (kvTlsCert == null || kvTlsKey == null) {
      throw new CommandLine.ParameterException(mixee.commandLine(), "--kv-tls-cert and --kv-tls-key go together "
          + "(or DISAGG_KV_TLS_CERT and DISAGG_KV_TLS_KEY): got only "
          + (kvTlsCert != null ? "--kv-tls-cert " + kvTlsCert : "--kv-tls-key " + kvTlsKey));
    }
    return new KvTlsFiles(readable(kvTlsCert, "--kv-tls-cert"), readable(kvTlsKey, "--kv-tls-key"));
  }

  /**
   * The prefill worker's {@code --kv-tls-trust}: a readable file, or null when it is not set (pushes stay plaintext).
   * Whether it holds PEM the worker learns when it makes its TLS context.
   *
   * @throws CommandLine.ParameterException when the file cannot be read, or {@code --kv-tls-cert} or
   *     {@code --kv-tls-key} is on the command line (usage errors)
   */
  public Path kvTlsTrustFile() {
    String instead = "a prefill worker trusts the decode workers' certificates with --kv-tls-trust";
    refuseOnCommandLine("--kv-tls-cert", "decode workers", instead);
    refuseOnCommandLine("--kv-tls-key", "decode workers", instead);
    return kvTlsTrust == null ? null : readable(kvTlsTrust, "--kv-tls-trust");
  }

  // Only the command line: a --config file or environment shared by both kinds of worker may hold the other's files.
  private void refuseOnCommandLine(String flag, String usedBy, String instead) {
    CommandLine.ParseResult parsed = mixee.commandLine().getParseResult();
    if (parsed != null && parsed.hasMatchedOption(flag)) {
      throw new CommandLine.ParameterException(mixee.commandLine(),
          flag + ": used by " + usedBy + " only (" + instead + ")");
    }
  }

  private Path readable(Path file, String flag) {
    String problem = !Files.exists(file) ? "no such file"
        : !Files.isRegularFile(file) ? "not a regular file"
        : !Files.isReadable(file) ? "not readable"
        : null;
    if (problem != null) {
      throw new CommandLine.ParameterException(mixee.commandLine(),
          flag + ": " + file + " (cannot read: " + problem + ")");
    }
    return file;
  }

  /**
   * The PEM files of a decode worker's kv-transfer TLS identity.
   *
   * @param certificateChain the {@code --kv-tls-cert}: the server's certificate first, then any intermediates
   * @param privateKey the {@code --kv-tls-key}: the certificate's private key, PKCS#8
   */
  public record KvTlsFiles(Path certificateChain, Path privateKey) {
    public KvTlsFiles {
      Objects.requireNonNull(certificateChain, "certificateChain");
      Objects.requireNonNull(privateKey, "privateKey");
    }
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
