package io.disagg.prefill;

import io.disagg.backend.spi.Backend;
import io.disagg.worker.WorkerCli;
import io.disagg.worker.WorkerCommand;
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
 * Runs a prefill worker: {@code --model PATH} is required, every other flag has a default. Flags beat
 * {@code DISAGG_*} environment variables, which beat the {@code --config} properties file. Prints the ready line on
 * stdout once serving; on SIGTERM it drains (finishing queued prompts and their pushes, up to
 * {@code --drain-timeout-ms}) and closes. With {@code --kv-tls-trust} it pushes KV caches over TLS.
 */
@Command(name = "prefill-worker", mixinStandardHelpOptions = true,
    description = "Disagg prefill worker: batches prompts through one backend and pushes each KV cache to a decode worker.")
public final class PrefillWorkerMain extends WorkerCommand {

  @Option(names = "--worker-id", description = "Id reported in Health (default: prefill-<random>).")
  String workerId;

  @Option(names = "--max-batch-tokens", defaultValue = "2048",
      description = "Most prompt tokens per prefill batch (default: ${DEFAULT-VALUE}).")
  int maxBatchTokens;

  @Option(names = "--max-batch-size", defaultValue = "32",
      description = "Most prompts per prefill batch (default: ${DEFAULT-VALUE}).")
  int maxBatchSize;

  @Option(names = "--queue-capacity", defaultValue = "256",
      description = "Most prompts waiting (default: ${DEFAULT-VALUE}).")
  int queueCapacity;

  @Option(names = "--drain-timeout-ms", defaultValue = "30000",
      description = "On SIGTERM, wait this long for queued prompts (default: ${DEFAULT-VALUE}).")
  long drainTimeoutMs;

  private PrefillWorkerMain(CountDownLatch stop) {
    super(stop);
  }

  public static void main(String... args) {
    WorkerCli.exitOnFailure(run(args));
  }

  /** Parses {@code args}, runs the worker until SIGTERM (or the JVM exits) and returns the exit code. */
  public static int run(String... args) {
    return WorkerCli.execute(new PrefillWorkerMain(null), args);
  }

  /**
   * As {@link #run(String...)}, for in-process callers: reads {@code env} instead of the process environment, and
   * stops (drain, close, return 0) when {@code stop} is counted down instead of on SIGTERM.
   */
  public static int run(
      Map<String, String> env, PrintWriter out, PrintWriter err, CountDownLatch stop, String... args) {
    return WorkerCli.execute(new PrefillWorkerMain(stop), env, out, err, args);
  }

  @Override
  public Integer call() throws Exception {
    String kvSecret = options().requireKvSecret(spec(), "decode workers");
    SslContext kvTls;
    // before the backend opens: a bad TLS file is a usage error that costs no model load
    try {
      kvTls = kvTlsClientContext(options().kvTlsTrustFile());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec().commandLine(), e.getMessage(), e);
    }
    Backend opened = options().openBackend(maxBatchTokens);
    PrefillWorkerServer.Builder b = configure(opened, () -> {
      PrefillWorkerServer.Builder settings = PrefillWorkerServer.builder(opened)
          .host(options().host())
          .grpcPort(options().grpcPort())
          .kvSecret(kvSecret)
          .maxBatchSize(maxBatchSize)
          .maxBatchTokens(maxBatchTokens)
          .queueCapacity(queueCapacity);
      options().applyMetrics(settings);
      if (workerId != null) {
        settings.workerId(workerId);
      }
      if (kvTls != null) {
        settings.kvSslContext(kvTls);
      }
      return settings;
    });
    return serve(b.build().start(), Duration.ofMillis(drainTimeoutMs), "prompts still queued");
  }

  /**
   * The kv-transfer client context trusting the {@code --kv-tls-trust} certificates, or null (plaintext) when
   * {@code trustFile} is null. It checks the server's certificate chain against them but not the host name.
   *
   * @throws IllegalArgumentException naming the flag and file when it holds no PEM certificate
   */
  static SslContext kvTlsClientContext(Path trustFile) {
    if (trustFile == null) {
      return null;
    }
    try {
      return SslContextBuilder.forClient().trustManager(trustFile.toFile())
          // the kv-secret handshake authenticates the decode worker; TLS adds confidentiality. Its certificate need
          // not name the address it is pushed to (a pod IP, a --kv-advertise behind NAT), which Netty 4.2 checks by
          // default
          .endpointIdentificationAlgorithm(null)
          .build();
    } catch (SSLException | IllegalArgumentException e) {
      // Netty's message names the file it refused; its cause says why
      String why = e.getCause() == null ? e.getMessage() : e.getMessage() + ": " + e.getCause().getMessage();
      throw new IllegalArgumentException(
          "--kv-tls-trust " + trustFile + " (expected: one or more PEM certificates; " + why + ")", e);
    }
  }
}
