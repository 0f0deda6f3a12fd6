package io.disagg.decode;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import io.disagg.decode.internal.LayeredDefaults;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a decode worker: {@code --model PATH} is required, every other flag has a default. Flags beat
 * {@code DISAGG_*} environment variables, which beat the {@code --config} properties file. Prints the ready line on
 * stdout once serving; on SIGTERM it drains (finishing running sequences, up to {@code --drain-timeout}) and closes.
 */
@Command(name = "decode-worker", mixinStandardHelpOptions = true,
    description = "Disagg decode worker: receives KV caches, decodes with continuous batching, serves colocated.")
public final class DecodeWorkerMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(DecodeWorkerMain.class);

  @Option(names = "--model", required = true, description = "GGUF model file.")
  Path model;

  @Option(names = "--backend", defaultValue = "java", description = "Backend name (default: ${DEFAULT-VALUE}).")
  String backend;

  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--grpc-port", defaultValue = "0", description = "gRPC port; 0 picks one (default: 0).")
  int grpcPort;

  @Option(names = "--kv-port", defaultValue = "0", description = "kv-transfer TCP port; 0 picks one (default: 0).")
  int kvPort;

  @Option(names = "--kv-unix-socket", description = "Serve kv-transfer on this Unix socket instead of TCP.")
  Path kvUnixSocket;

  @Option(names = "--kv-advertise",
      description = "kv-transfer address to hand to prefill workers when the bound one is not reachable by them.")
  String kvAdvertise;

  @Option(names = "--kv-secret", description = "Shared secret kv-transfer peers must prove (env DISAGG_KV_SECRET).")
  String kvSecret;

  @Option(names = "--worker-id", description = "Id reported in Health (default: decode-<random>).")
  String workerId;

  @Option(names = "--threads", defaultValue = "1", description = "Backend compute threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--kv-blocks", defaultValue = "1024", description = "KV pool blocks (default: ${DEFAULT-VALUE}).")
  int kvBlocks;

  @Option(names = "--block-tokens", defaultValue = "16", description = "Tokens per KV block (default: ${DEFAULT-VALUE}).")
  int blockTokens;

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

  @Option(names = "--config", description = "Properties file with the same keys as the flags (e.g. kv-blocks=512).")
  Path config;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  private final PrintWriter out;
  private final CountDownLatch stop;

  DecodeWorkerMain(PrintWriter out, CountDownLatch stop) {
    this.out = out;
    this.stop = stop;
  }

  public static void main(String... args) {
    int code = run(args);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** Parses {@code args}, runs the worker until SIGTERM (or the JVM exits) and returns the exit code. */
  public static int run(String... args) {
    return run(System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true), null, args);
  }

  /**
   * As {@link #run(String...)}, for in-process callers: reads {@code env} instead of the process environment, and
   * stops (drain, close, return 0) when {@code stop} is counted down instead of on SIGTERM.
   */
  public static int run(
      Map<String, String> env, PrintWriter out, PrintWriter err, CountDownLatch stop, String... args) {
    DecodeWorkerMain main = new DecodeWorkerMain(out, stop);
    CommandLine cl = new CommandLine(main).setOut(out).setErr(err);
    try {
      cl.setDefaultValueProvider(LayeredDefaults.from(args, env));
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      return CommandLine.ExitCode.USAGE;
    }
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof CommandLine.ParameterException) {
        err.println(e.getMessage());
        return CommandLine.ExitCode.USAGE;
      }
      // a model that cannot be opened, a port in use: say what, without a stack trace
      log.error("{} failed to start", cl.getCommandName(), e);
      err.println(cl.getCommandName() + ": " + e.getMessage());
      return CommandLine.ExitCode.SOFTWARE;
    });
    return cl.execute(args);
  }

  @Override
  public Integer call() throws Exception {
    if (kvSecret == null) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "Missing --kv-secret (or DISAGG_KV_SECRET): the secret shared with prefill workers, >= 16 bytes");
    }
    BackendConfig config = BackendConfig.builder(model)
        .threads(threads)
        .kvBlocks(kvBlocks)
        .blockTokens(blockTokens)
        .maxBatchTokens(maxBatchTokens)
        .build();
    Backend opened = Backends.open(backend, config);
    DecodeWorkerServer.Builder b;
    try {
      b = DecodeWorkerServer.builder(opened)
          .host(host)
          .grpcPort(grpcPort)
          .kvPort(kvPort)
          .kvUnixSocket(kvUnixSocket)
          .kvSecret(kvSecret)
          .maxBatchSize(maxBatchSize)
          .maxBatchTokens(maxBatchTokens)
          .queueCapacity(queueCapacity)
          .reservationTimeout(Duration.ofMillis(reservationTimeoutMs));
      if (workerId != null) {
        b.workerId(workerId);
      }
      if (kvAdvertise != null) {
        b.kvAdvertise(kvAdvertise);
      }
    } catch (IllegalArgumentException e) {
      opened.close();
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
    DecodeWorkerServer s = b.build().start();
    CountDownLatch done = new CountDownLatch(1);
    Thread hook = Thread.ofPlatform().name("decode-worker-shutdown").unstarted(() -> {
      shutdown(s);
      done.countDown();
    });
    Runtime.getRuntime().addShutdownHook(hook);
    out.println(s.readyLine());
    out.flush();
    if (stop != null) {
      // in-process callers (tests) stop the worker by counting this latch down instead of SIGTERM
      stop.await();
      Runtime.getRuntime().removeShutdownHook(hook);
      shutdown(s);
      return 0;
    }
    done.await();
    return 0;
  }

  private void shutdown(DecodeWorkerServer s) {
    log.info("draining decode worker {}", s.workerId());
    s.drain();
    try {
      if (!s.awaitIdle(Duration.ofMillis(drainTimeoutMs))) {
        log.warn("drain timed out after {} ms; closing with sequences still running", drainTimeoutMs);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    s.close();
  }
}
