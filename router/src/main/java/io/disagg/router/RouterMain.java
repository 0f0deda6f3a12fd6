package io.disagg.router;

import io.disagg.openai.OpenAiHttpServer;
import io.disagg.router.internal.RouterSettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the router: loads the model's tokenizer, connects to the workers, serves {@code disagg.v1.Router} (and, with
 * {@code --http-port}, the OpenAI-compatible HTTP API) and prints {@code disagg router ready: grpc=HOST:PORT} (plus
 * {@code http=HOST:PORT}) on stdout once serving. Logs go to stderr.
 *
 * <p>Every option can also come from an environment variable {@code DISAGG_<OPTION>} (e.g. {@code DISAGG_GRPC_PORT})
 * or from the {@code --config} properties file under the option's name (e.g. {@code grpc-port=9000}); flags beat the
 * environment, which beats the file.
 */
@Command(name = "disagg-router", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Disaggregated inference router: tokenizes, classifies (disaggregated or colocated), picks workers"
        + " by load and streams generations back with their timing.")
public final class RouterMain implements java.util.concurrent.Callable<Integer> {
  private static final Duration STARTUP_REPOLL_PAUSE = Duration.ofMillis(200);

  private static final Logger log = LoggerFactory.getLogger(RouterMain.class);

  @Option(names = "--model", paramLabel = "PATH",
      description = "GGUF model file, read for its tokenizer and metadata (required; env DISAGG_MODEL).")
  Path model;

  @Option(names = "--host", description = "Address to bind (default: 127.0.0.1).")
  String host;

  @Option(names = "--grpc-port", description = "gRPC port; 0 picks a free one (default: 0).")
  Integer grpcPort;

  @Option(names = "--prefill", paramLabel = "HOST:PORT", split = ",",
      description = "Prefill worker gRPC address; repeatable or comma-separated (default: none, all colocated).")
  List<String> prefill;

  @Option(names = "--decode", paramLabel = "HOST:PORT", split = ",",
      description = "Decode worker gRPC address; repeatable or comma-separated (at least one).")
  List<String> decode;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Properties file with the same keys as the options (e.g. decode=h:1,h:2).")
  Path config;

  @Option(names = "--disaggregate-threshold", paramLabel = "TOKENS",
      description = "Threshold policy: prompts of at least this many tokens are prefilled on a prefill worker"
          + " (default: 128). Setting it without --policy selects the threshold policy. Lower protects decode latency"
          + " from long prefills but moves more KV; higher keeps more work colocated.")
  Integer disaggregateThreshold;

  @Option(names = "--health-interval", paramLabel = "DURATION",
      description = "Time between health polls, e.g. 2s; 0s turns polling off (default: 2s).")
  String healthInterval;

  @Option(names = "--health-timeout", paramLabel = "DURATION",
      description = "How long a health poll waits before the worker leaves rotation (default: 1000ms).")
  String healthTimeout;

  @Option(names = "--default-max-tokens", paramLabel = "N",
      description = "Generation budget when a request sets none (default: 256).")
  Integer defaultMaxTokens;

  @Option(names = "--request-timeout", paramLabel = "DURATION",
      description = "Deadline of requests without one, and the cap on client deadlines (default: 300s).")
  String requestTimeout;

  @Option(names = "--max-attempts", paramLabel = "N",
      description = "Workers tried per stage when one is full or unreachable (default: 3).")
  Integer maxAttempts;

  @Option(names = "--http-port", paramLabel = "PORT",
      description = "OpenAI-compatible HTTP port; 0 picks a free one, -1 serves no HTTP (default: -1).")
  Integer httpPort;

  @Option(names = "--http-host", description = "Address the HTTP server binds (default: the --host value).")
  String httpHost;

  @Option(names = "--api-key", paramLabel = "KEY", split = ",",
      description = "Key accepted as 'Authorization: Bearer KEY' on the HTTP and gRPC ports; repeatable or"
          + " comma-separated; env DISAGG_API_KEY (default: none, both ports open).")
  List<String> apiKeys;

  @Option(names = "--api-key-file", paramLabel = "FILE",
      description = "File with one accepted key per line (# comments allowed); adds to --api-key.")
  Path apiKeyFile;

  @Option(names = "--max-body-bytes", paramLabel = "N",
      description = "Largest HTTP request body; larger ones get 413 (default: 4194304).")
  Integer maxBodyBytes;

  @Option(names = "--max-concurrent-requests", paramLabel = "N",
      description = "HTTP completion requests served at once; more get 429 with Retry-After (default: 256).")
  Integer maxConcurrentRequests;

  @Option(names = "--policy", paramLabel = "cost|threshold",
      description = "Serve-mode policy: the cost model (measured prefill speed, KV bandwidth, loads) or the prompt"
          + " length threshold (default: cost).")
  String policy;

  @Option(names = "--kv-bandwidth-prior", paramLabel = "BYTES_PER_S",
      description = "KV bandwidth assumed for a prefill→decode path until measured (default: 1.25e9).")
  String kvBandwidthPrior;

  @Option(names = "--prefill-tokens-per-second-prior", paramLabel = "TOKENS_PER_S",
      description = "Prefill speed assumed for a worker until measured (default: 2000).")
  String prefillTokensPerSecondPrior;

  @Option(names = "--hysteresis", paramLabel = "FRACTION",
      description = "How much faster disaggregation must be predicted before it is chosen (default: 0.2).")
  String hysteresis;

  @Option(names = "--batch-stall-weight", paramLabel = "W",
      description = "Weight of the stall a colocated prefill causes each running sequence (default: 0.1).")
  String batchStallWeight;

  @Option(names = "--disaggregation-overhead", paramLabel = "DURATION",
      description = "Fixed cost of the disaggregated path beyond prefill and transfer (default: 2ms).")
  String disaggregationOverhead;

  @Option(names = "--prefix-weight", paramLabel = "W",
      description = "Price of one new prefill token against one token of live decode KV when choosing workers; 0"
          + " ignores prefix caches (default: 2).")
  String prefixWeight;

  @Option(names = "--prefix-index-max-blocks", paramLabel = "N",
      description = "Bound on the KV block hashes the router's prefix index keeps, over all workers"
          + " (default: 1048576).")
  String prefixIndexMaxBlocks;

  @Option(names = "--breaker-window", paramLabel = "CALLS",
      description = "Calls in each worker's circuit breaker window (default: 20).")
  Integer breakerWindow;

  @Option(names = "--breaker-minimum-calls", paramLabel = "CALLS",
      description = "Calls recorded before a breaker may open (default: 5).")
  Integer breakerMinimumCalls;

  @Option(names = "--breaker-failure-rate", paramLabel = "PERCENT",
      description = "Failure percentage (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL) that opens it (default: 50).")
  String breakerFailureRate;

  @Option(names = "--breaker-open-duration", paramLabel = "DURATION",
      description = "How long an open breaker keeps the worker out before trial calls (default: 10s).")
  String breakerOpenDuration;

  @Option(names = "--retry-backoff", paramLabel = "DURATION",
      description = "Backoff before retrying ReserveKv/Prefill, doubling per attempt, ±50% jitter (default: 10ms).")
  String retryBackoff;

  @Option(names = "--retry-backoff-max", paramLabel = "DURATION", description = "Cap on one backoff (default: 200ms).")
  String retryBackoffMax;

  @Option(names = "--max-in-flight", paramLabel = "N",
      description = "Requests in flight (gRPC and HTTP); more get RESOURCE_EXHAUSTED / 429 (default: 1024).")
  Integer maxInFlight;

  @Option(names = "--rate-limit", paramLabel = "REQUESTS_PER_S",
      description = "Requests admitted per second; more get RESOURCE_EXHAUSTED / 429; 0 = no limit (default: 0).")
  Integer rateLimit;

  @Option(names = "--metrics-port", paramLabel = "PORT",
      description = "Port serving Prometheus /metrics; 0 picks a free one, -1 serves none (default: -1).")
  Integer metricsPort;

  @Option(names = "--metrics-host", description = "Address /metrics binds (default: the --host value).")
  String metricsHost;

  private final Map<String, String> env;
  private final PrintStream out;

  private RouterMain(Map<String, String> env, PrintStream out) {
    this.env = env;
    this.out = out;
  }

  public static void main(String... args) {
    System.exit(run(args));
  }

  /** Parses {@code args}, serves until the JVM shuts down, and returns the exit code (0 for {@code --help}). */
  public static int run(String... args) {
    return new CommandLine(new RouterMain(System.getenv(), System.out)).execute(args);
  }

  @Override
  public Integer call() throws InterruptedException {
    RouterSettings settings;
    try {
      settings = RouterSettings.resolve(flags(), env);
    } catch (IllegalArgumentException e) {
      System.err.println("disagg-router: " + e.getMessage());
      return CommandLine.ExitCode.USAGE;
    }
    Running running;
    try {
      running = launch(settings);
    } catch (RuntimeException e) {
      log.error("router failed to start", e);
      System.err.println("disagg-router: cannot start: " + e.getMessage());
      return CommandLine.ExitCode.SOFTWARE;
    }
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      running.close();
      stopped.countDown();
    }, "disagg-router-shutdown"));
    out.println(running.readyLine());
    out.flush();
    stopped.await();
    return CommandLine.ExitCode.OK;
  }

  private Map<String, String> flags() {
    Map<String, String> flags = new HashMap<>();
    put(flags, "model", model);
    put(flags, "host", host);
    put(flags, "grpc-port", grpcPort);
    put(flags, "prefill", prefill == null ? null : String.join(",", prefill));
    put(flags, "decode", decode == null ? null : String.join(",", decode));
    put(flags, "config", config);
    put(flags, "disaggregate-threshold", disaggregateThreshold);
    put(flags, "health-interval", healthInterval);
    put(flags, "health-timeout", healthTimeout);
    put(flags, "default-max-tokens", defaultMaxTokens);
    put(flags, "request-timeout", requestTimeout);
    put(flags, "max-attempts", maxAttempts);
    put(flags, "http-port", httpPort);
    put(flags, "http-host", httpHost);
    put(flags, "api-key", apiKeys == null ? null : String.join(",", apiKeys));
    put(flags, "api-key-file", apiKeyFile);
    put(flags, "max-body-bytes", maxBodyBytes);
    put(flags, "max-concurrent-requests", maxConcurrentRequests);
    put(flags, "policy", policy);
    put(flags, "kv-bandwidth-prior", kvBandwidthPrior);
    put(flags, "prefill-tokens-per-second-prior", prefillTokensPerSecondPrior);
    put(flags, "hysteresis", hysteresis);
    put(flags, "batch-stall-weight", batchStallWeight);
    put(flags, "prefix-weight", prefixWeight);
    put(flags, "prefix-index-max-blocks", prefixIndexMaxBlocks);
    put(flags, "disaggregation-overhead", disaggregationOverhead);
    put(flags, "breaker-window", breakerWindow);
    put(flags, "breaker-minimum-calls", breakerMinimumCalls);
    put(flags, "breaker-failure-rate", breakerFailureRate);
    put(flags, "breaker-open-duration", breakerOpenDuration);
    put(flags, "retry-backoff", retryBackoff);
    put(flags, "retry-backoff-max", retryBackoffMax);
    put(flags, "max-in-flight", maxInFlight);
    put(flags, "rate-limit", rateLimit);
    put(flags, "metrics-port", metricsPort);
    put(flags, "metrics-host", metricsHost);
    return flags;
  }

  private static void put(Map<String, String> flags, String key, Object value) {
    if (value != null) {
      flags.put(key, value.toString());
    }
  }

  /**
   * A started router: the service, its gRPC server and, when {@code --http-port} is set, its OpenAI HTTP server and,
   * when {@code --metrics-port} is set, its {@code /metrics} endpoint. Closing stops HTTP first (its open generations
   * are cancelled on the workers), then gRPC, then the service, then metrics.
   */
  public record Running(RouterService service, RouterServer server, Optional<OpenAiHttpServer> http,
      Optional<MetricsServer> metrics) implements AutoCloseable {
    public Running {
      Objects.requireNonNull(service, "service");
      Objects.requireNonNull(server, "server");
      Objects.requireNonNull(http, "http");
      Objects.requireNonNull(metrics, "metrics");
    }

    /**
     * The line launchers parse: {@code disagg router ready: grpc=HOST:PORT}, followed by {@code http=HOST:PORT} when
     * HTTP is served.
     */
    public String readyLine() {
      return server.readyLine() + http.map(h -> " http=" + hostPort(h.baseUrl())).orElse("")
          + metrics.map(m -> " metrics=" + m.hostPort()).orElse("");
    }

    private static String hostPort(String baseUrl) {
      // baseUrl() is http://HOST:PORT/v1 with a connectable host (0.0.0.0 becomes 127.0.0.1).
      String rest = baseUrl.substring("http://".length());
      return rest.substring(0, rest.indexOf('/'));
    }

    @Override
    public void close() {
      try {
        http.ifPresent(OpenAiHttpServer::close);
      } finally {
        try {
          server.close();
        } finally {
          try {
            service.close();
          } finally {
            metrics.ifPresent(MetricsServer::close);
          }
        }
      }
    }
  }

  /**
   * Loads the model, connects to the workers, runs one round of health polls (at most the health timeout plus a
   * margin) and starts serving. Does not print the ready line.
   */
  public static Running launch(RouterSettings settings) {
    ServedModel model = ServedModels.fromGguf(settings.model());
    log.info("serving {} ({}, context {}, sha256 {})", model.name(), model.architecture(), model.contextLength(),
        model.modelSha256());
    PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    RouterSettings.Policy policy = settings.policy();
    ServeModeClassifier classifier = policy.name().equals(RouterSettings.POLICY_THRESHOLD)
        ? ThresholdClassifier.of(settings.disaggregateThreshold())
        : CostModelClassifier.builder()
            .hysteresis(policy.hysteresis())
            .batchStallWeight(policy.batchStallWeight())
            .overhead(policy.overhead())
            .build();
    RouterSettings.Resilience r = settings.resilience();
    RouterService.Builder builder = RouterService.builder()
        .model(model)
        .classifier(classifier)
        .selector(PrefixAwareSelector.withPrefixWeight(policy.prefixWeight()))
        .prefixIndexMaxBlocks(policy.prefixIndexMaxBlocks())
        .kvBandwidthPrior(policy.kvBandwidthPrior())
        .prefillTokensPerSecondPrior(policy.prefillTokensPerSecondPrior())
        .circuitBreaker(r.breakerWindow(), r.breakerMinimumCalls(), r.breakerFailureRate(), r.breakerOpenDuration())
        .retryBackoff(r.retryBackoff(), r.retryBackoffMax())
        .maxInFlight(r.maxInFlight())
        .rateLimit(r.rateLimit())
        .meterRegistry(meters)
        .healthInterval(settings.healthInterval())
        .healthTimeout(settings.healthTimeout())
        .defaultMaxTokens(settings.defaultMaxTokens())
        .requestTimeout(settings.requestTimeout())
        .maxAttempts(settings.maxAttempts());
    settings.prefill().forEach(builder::prefillWorker);
    settings.decode().forEach(builder::decodeWorker);
    RouterService service = builder.build();
    Duration wait = settings.healthTimeout().plusSeconds(1);
    try {
      service.start().get(wait.toMillis(), TimeUnit.MILLISECONDS);
      // A worker JVM that is still warming up can miss the first polls. Announcing "ready" while a configured worker
      // is out of rotation would fail the first requests that need it (e.g. forced disaggregation), so re-poll for a
      // bounded time; a worker that is really down is only reported, and the background poller keeps trying.
      long deadline = System.nanoTime() + Math.max(wait.toNanos() * 3, Duration.ofSeconds(10).toNanos());
      while (service.workers().stream().anyMatch(w -> !w.inRotation()) && System.nanoTime() < deadline) {
        Thread.sleep(STARTUP_REPOLL_PAUSE.toMillis());
        service.pollHealth().get(wait.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.warn("first health rounds did not finish: {}", e.toString());
    }
    for (WorkerSnapshot w : service.workers()) {
      if (!w.inRotation()) {
        log.warn("{} worker {} is not in rotation yet: {}", w.role(), w.id(), w.outOfRotationReason());
      }
    }
    Optional<MetricsServer> metrics;
    try {
      metrics = settings.metricsEnabled()
          ? Optional.of(MetricsServer.start(meters, settings.metricsHost(), settings.metricsPort()))
          : Optional.empty();
    } catch (RuntimeException e) {
      service.close();
      throw e;
    }
    RouterServer server;
    try {
      server = RouterServer.start(service, settings.host(), settings.grpcPort(), settings.apiKeys());
    } catch (RuntimeException e) {
      service.close();
      metrics.ifPresent(MetricsServer::close);
      throw e;
    }
    if (!settings.httpEnabled()) {
      return new Running(service, server, Optional.empty(), metrics);
    }
    try {
      OpenAiHttpServer http = service.openAiHttpServer()
          .host(settings.httpHost())
          .port(settings.httpPort())
          .apiKeys(settings.apiKeys())
          .maxBodyBytes(settings.maxBodyBytes())
          .maxConcurrentRequests(settings.maxConcurrentRequests())
          .build()
          .start();
      return new Running(service, server, Optional.of(http), metrics);
    } catch (RuntimeException e) {
      server.close();
      service.close();
      metrics.ifPresent(MetricsServer::close);
      throw e;
    }
  }
}
