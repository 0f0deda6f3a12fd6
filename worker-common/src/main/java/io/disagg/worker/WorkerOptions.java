package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * The flags every worker has, as a picocli mixin ({@code @Mixin WorkerOptions options;}): the model and backend,
 * the gRPC bind address, the kv-transfer secret and the {@code --config} file read by {@link LayeredDefaults}. Flags
 * whose meaning or default differs per worker stay in the worker's command.
 */
public final class WorkerOptions {
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

  @Option(names = "--config", description = "Properties file with the same keys as the flags (e.g. kv-blocks=512).")
  private Path config;

  public String host() {
    return host;
  }

  public int grpcPort() {
    return grpcPort;
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

  /** Opens the {@code --backend} on the {@code --model} with the thread and KV pool flags; the caller owns it. */
  public Backend openBackend(int maxBatchTokens) {
    BackendConfig config = BackendConfig.builder(model)
        .threads(threads)
        .kvBlocks(kvBlocks)
        .blockTokens(blockTokens)
        .maxBatchTokens(maxBatchTokens)
        .build();
    return Backends.open(backend, config);
  }
}
