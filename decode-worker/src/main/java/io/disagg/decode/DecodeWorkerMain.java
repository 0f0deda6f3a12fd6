package io.disagg.decode;

import io.disagg.backend.spi.Backend;
import io.disagg.worker.WorkerCli;
import io.disagg.worker.WorkerCommand;
import io.disagg.worker.WorkerOptions;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a decode worker: {@code --model PATH} is required, every other flag has a default. Flags beat
 * {@code DISAGG_*} environment variables, which beat the {@code --config} properties file. Prints the ready line on
 * stdout once serving; on SIGTERM it drains (finishing running sequences, up to {@code --drain-timeout}) and closes.
 * With {@code --kv-tls-cert} and {@code --kv-tls-key} its kv-transfer server accepts TLS only.
 */
@Command(name = "decode-worker", mixinStandardHelpOptions = true,
    description = "Disagg decode worker: receives KV caches, decodes with continuous batching, serves colocated.")
public final class DecodeWorkerMain extends WorkerCommand {

  @Option(names = "--kv-port", defaultValue = "0", description = "kv-transfer TCP port; 0 picks one (default: 0).")
  int kvPort;

  @Option(names = "--kv-unix-socket", description = "Serve kv-transfer on this Unix socket instead of TCP.")
  Path kvUnixSocket;

  @Option(names = "--kv-advertise",
      description = "kv-transfer address to hand to prefill workers when the bound one is not reachable by them.")
  String kvAdvertise;

  @Option(names = "--worker-id", description = "Id reported in Health (default: decode-<random>).")
  String workerId;

  @Option(names = "--max-batch-tokens", defaultValue = "2048",
      description = "Most tokens per engine step, colocated prompt tokens included (default: ${DEFAULT-VALUE}).")
  int maxBatchTokens;

  @Option(names = "--max-batch-size", defaultValue = "64",
      description = "Most sequences per decode step (default: ${DEFAULT-VALUE}).")
  int maxBatchSize;

  @Option(names = "--queue-capacity", defaultValue = "256",
      description = "Most Decode requests waiting for admission (default: ${DEFAULT-VALUE}).")
  int queueCapacity;

  @Option(names = "--reservation-timeout-ms", defaultValue = "30000",
      description = "Unused reservations are released after this long (default: ${DEFAULT-VALUE}).")
  long reservationTimeoutMs;

  @Option(names = "--drain-timeout-ms", defaultValue = "30000",
      description = "On SIGTERM, wait this long for running sequences (default: ${DEFAULT-VALUE}).")
  long drainTimeoutMs;

  private DecodeWorkerMain(CountDownLatch stop) {
    super(stop);
  }

  public static void main(String... args) {
    WorkerCli.exitOnFailure(run(args));
  }

  /** Parses {@code args}, runs the worker until SIGTERM (or the JVM exits) and returns the exit code. */
  public static int run(String... args) {
    return WorkerCli.execute(new DecodeWorkerMain(null), args);
  }

  /**
   * As {@link #run(String...)}, for in-process callers: reads {@code env} instead of the process environment, and
   * stops (drain, close, return 0) when {@code stop} is counted down instead of on SIGTERM.
   */
  public static int run(
      Map<String, String> env, PrintWriter out, PrintWriter err, CountDownLatch stop, String... args) {
    return WorkerCli.execute(new DecodeWorkerMain(stop), env, out, err, args);
  }

  @Override
  public Integer call() throws Exception {
    String kvSecret = options().requireKvSecret(spec(), "prefill workers");
    SslContext kvTls;
    // before the backend opens: a bad TLS file is a usage error that costs no model load
    try {
      kvTls = kvTlsServerContext(options().kvTlsServerFiles());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec().commandLine(), e.getMessage(), e);
    }
    Backend opened = options().openBackend(maxBatchTokens);
    DecodeWorkerServer.Builder b = configure(opened, () -> {
      DecodeWorkerServer.Builder settings = DecodeWorkerServer.builder(opened)
          .host(options().host())
          .grpcPort(options().grpcPort())
          .kvPort(kvPort)
          .kvUnixSocket(kvUnixSocket)
          .kvSecret(kvSecret)
          .maxBatchSize(maxBatchSize)
          .maxBatchTokens(maxBatchTokens)
          .queueCapacity(queueCapacity)
          .reservationTimeout(Duration.ofMillis(reservationTimeoutMs));
      options().applyMetrics(settings);
      if (workerId != null) {
        settings.workerId(workerId);
      }
      if (kvAdvertise != null) {
        settings.kvAdvertise(kvAdvertise);
      }
      if (kvTls != null) {
        settings.kvSslContext(kvTls);
      }
      return settings;
    });
    return serve(b.build().start(), Duration.ofMillis(drainTimeoutMs), "sequences still running");
  }

  /**
   * The kv-transfer server context of the {@code --kv-tls-cert} and {@code --kv-tls-key} files, or null (plaintext)
   * when {@code files} is null.
   *
   * @throws IllegalArgumentException naming both flags and files when they are no PEM certificate chain and PKCS#8
   *     private key
   */
  static SslContext kvTlsServerContext(WorkerOptions.KvTlsFiles files) {
    if (files == null) {
      return null;
    }
    try {
      return SslContextBuilder.forServer(files.certificateChain().toFile(), files.privateKey().toFile()).build();
    } catch (SSLException | IllegalArgumentException e) {
      // Netty's message names the file it refused; its cause says why
      String why = e.getCause() == null ? e.getMessage() : e.getMessage() + ": " + e.getCause().getMessage();
      throw new IllegalArgumentException("--kv-tls-cert " + files.certificateChain() + ", --kv-tls-key "
          + files.privateKey() + " (expected: a PEM certificate chain and its PEM PKCS#8 private key; " + why + ")",
          e);
    }
  }
}
