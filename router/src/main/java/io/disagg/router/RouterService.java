package io.disagg.router;

import io.disagg.openai.OpenAiHttpServer;
import io.disagg.openai.PreparedGeneration;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.router.internal.CostTracker;
import io.disagg.router.internal.GenerationPipeline;
import io.disagg.router.internal.PreparedRequest;
import io.disagg.router.internal.HealthPoller;
import io.disagg.router.internal.PromptTokens;
import io.disagg.router.internal.PrefixIndex;
import io.disagg.router.internal.RequestValidator;
import io.disagg.router.internal.Resilience;
import io.disagg.router.internal.ResponseAggregator;
import io.disagg.router.internal.RouterContext;
import io.disagg.router.internal.RouterInferenceService;
import io.disagg.router.internal.RouterMetrics;
import io.disagg.router.internal.WorkerRegistry;
import io.github.resilience4j.ratelimiter.RateLimiter;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The router, in-process: what the gRPC front door ({@link RouterServer}) and the OpenAI HTTP front end call. It
 * tokenizes each prompt once, classifies the request (disaggregated or colocated), picks workers by load, and streams
 * the generation back with its timing breakdown and the workers that served it.
 *
 * <p>Lifecycle: {@link #builder()} connects to the workers (lazily, gRPC channels); {@link #start()} begins health
 * polling; {@link #close()} stops it and closes the channels. Thread-safe.
 */
public final class RouterService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RouterService.class);

  /** Default generation budget when a request leaves {@code max_tokens} at 0. */
  public static final int DEFAULT_MAX_TOKENS = 256;
  /** Default overall deadline of a request that arrives without one. */
  public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofMinutes(5);
  /** Default time between health polls. */
  public static final Duration DEFAULT_HEALTH_INTERVAL = Duration.ofSeconds(2);
  /** Default time a health poll waits for an answer. */
  public static final Duration DEFAULT_HEALTH_TIMEOUT = Duration.ofSeconds(1);
  /** Default number of workers tried per stage. */
  public static final int DEFAULT_MAX_ATTEMPTS = 3;
  /** Default front-door bulkhead: requests in flight before new ones get RESOURCE_EXHAUSTED. */
  public static final int DEFAULT_MAX_IN_FLIGHT = 1024;
  /** Default circuit breaker window, in calls per worker. */
  public static final int DEFAULT_BREAKER_WINDOW = 20;
  /** Default calls recorded before a breaker may open. */
  public static final int DEFAULT_BREAKER_MINIMUM_CALLS = 5;
  /** Default failure percentage that opens a breaker. */
  public static final float DEFAULT_BREAKER_FAILURE_RATE = 50f;
  /** Default time an open breaker keeps its worker out before trial calls. */
  public static final Duration DEFAULT_BREAKER_OPEN_DURATION = Duration.ofSeconds(10);
  /** Default backoff before the second attempt of ReserveKv or Prefill; doubles per attempt. */
  public static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofMillis(10);
  /** Default cap on one retry backoff. */
  public static final Duration DEFAULT_RETRY_BACKOFF_MAX = Duration.ofMillis(200);
  /** Retry hint given with front-door refusals, in seconds. */
  static final int RETRY_AFTER_SECONDS = 1;

  private final RouterContext ctx;
  private final RequestValidator validator;
  private final HealthPoller poller;
  private final Duration requestTimeout;
  private final Duration healthInterval;
  private final ScheduledExecutorService scheduler;
  private final Resilience resilience;
  private volatile boolean closed;

  private RouterService(Builder b) {
    this.resilience = new Resilience(new Resilience.Settings(b.breakerWindow, b.breakerMinimumCalls,
        b.breakerFailureRate, b.breakerOpenDuration, b.maxAttempts, b.retryBackoff, b.retryBackoffMax, b.maxInFlight,
        b.rateLimit, b.clock, b.random));
    WorkerRegistry registry = new WorkerRegistry(b.prefillWorkers, b.decodeWorkers, resilience);
    ServeModeClassifier classifier = b.classifier != null ? b.classifier
        : b.threshold > 0 ? ThresholdClassifier.of(b.threshold) : CostModelClassifier.withDefaults();
    this.scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "disagg-router-scheduler");
      t.setDaemon(true);
      return t;
    });
    CostTracker costs = new CostTracker(CostTracker.DEFAULT_ALPHA, b.kvBandwidthPrior, b.prefillTokensPerSecondPrior);
    PrefixIndex prefixIndex = new PrefixIndex(b.prefixIndexMaxBlocks);
    this.ctx = new RouterContext(b.model, registry, classifier, b.selector, b.ticker, b.maxAttempts,
        Duration.ofSeconds(5), new RouterMetrics(b.meterRegistry, registry, resilience, costs, prefixIndex), costs,
        b.prefixCacheIndex != null ? b.prefixCacheIndex : prefixIndex, resilience, scheduler);
    this.validator = new RequestValidator(b.model, b.defaultMaxTokens, b.requestIds, b.seeds);
    this.poller = new HealthPoller(registry, b.model.modelSha256(), b.healthTimeout, prefixIndex);
    this.requestTimeout = b.requestTimeout;
    this.healthInterval = b.healthInterval;
  }

  /**
   * The front door: a rate-limit permit (when a limit is set) and a bulkhead slot, or the RESOURCE_EXHAUSTED status
   * with a retry hint to answer instead. Neither waits: queueing at the router would only add latency the client
   * cannot see or bound, while a refusal lets it back off (the OpenAI front end answers 429 with Retry-After).
   */
  private Status admit() {
    RateLimiter limiter = resilience.rateLimiter().orElse(null);
    if (limiter != null && !limiter.acquirePermission()) {
      ctx.metrics().rejected("rate_limited");
      return Status.RESOURCE_EXHAUSTED.withDescription("router rate limit of "
          + limiter.getRateLimiterConfig().getLimitForPeriod() + " requests/s reached; retry after "
          + RETRY_AFTER_SECONDS + "s");
    }
    if (!resilience.bulkhead().tryAcquirePermission()) {
      ctx.metrics().rejected("max_in_flight");
      return Status.RESOURCE_EXHAUSTED.withDescription("router overloaded: "
          + resilience.bulkhead().getBulkheadConfig().getMaxConcurrentCalls()
          + " requests in flight (max-in-flight); retry after " + RETRY_AFTER_SECONDS + "s");
    }
    return null;
  }

  /** Starts a prepared request that holds a bulkhead slot; the slot is freed when the call ends. */
  private GenerateCall started(PreparedRequest prepared, Deadline deadline, StreamObserver<GenerateChunk> observer) {
    GenerationPipeline call = new GenerationPipeline(ctx, prepared, effectiveDeadline(deadline), observer,
        () -> resilience.bulkhead().onComplete());
    call.start();
    return call;
  }

  /** Validates and tokenizes {@code request} for a call that holds a bulkhead slot; null (the slot freed) if invalid. */
  private PreparedRequest admittedPrepare(GenerateRequest request, StreamObserver<?> observer) {
    try {
      return validator.prepare(request);
    } catch (StatusException e) {
      Status status = e.getStatus();
      ctx.metrics().invalid(status.getCode().name());
      resilience.bulkhead().onComplete();
      observer.onError(status.asRuntimeException());
      return null;
    }
  }

  /** A call refused at the front door: its observer has its error already; cancelling does nothing. */
  private GenerateCall refused(GenerateRequest request, Status status, StreamObserver<?> observer) {
    ctx.metrics().failedAtDoor(status.getCode().name());
    observer.onError(status.asRuntimeException());
    return ended(request);
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Polls every worker once, then (unless the health interval is zero) keeps polling in the background. Completes
   * when the first round is done, so a caller can report readiness with the workers' state known.
   */
  public CompletableFuture<Void> start() {
    CompletableFuture<Void> first = pollHealth();
    if (!healthInterval.isZero()) {
      first.whenComplete((ok, error) -> scheduleNextPoll());
    }
    return first;
  }

  private void scheduleNextPoll() {
    if (closed) {
      return;
    }
    // Rounds never overlap: the next one is scheduled when this one is done.
    scheduler.schedule(() -> pollHealth().whenComplete((ok, error) -> scheduleNextPoll()),
        healthInterval.toNanos(), TimeUnit.NANOSECONDS);
  }

  /** Runs one round of health polls now; completes when every worker answered or timed out. */
  public CompletableFuture<Void> pollHealth() {
    return poller.pollAll();
  }

  /**
   * Starts a streaming generation with the router's default deadline. See
   * {@link #generate(GenerateRequest, Deadline, StreamObserver)}.
   */
  public GenerateCall generate(GenerateRequest request, StreamObserver<GenerateChunk> observer) {
    return generate(request, null, observer);
  }

  /**
   * Starts a streaming generation. The observer receives zero or more token chunks, then either one final chunk
   * (finish reason, usage, timing, served-by) followed by {@code onCompleted}, or one {@code onError} carrying a
   * {@link io.grpc.StatusRuntimeException}. Calls to the observer never overlap; they must not block.
   *
   * <p>Flow control: if {@code observer} is a {@link io.grpc.stub.CallStreamObserver} the router takes its onReady
   * handler (so call this before the enclosing gRPC method returns) and pulls from the decode worker only while
   * {@code isReady()}.
   *
   * @param deadline the client's deadline, or null; the earlier of it and the request timeout bounds every worker RPC
   */
  public GenerateCall generate(GenerateRequest request, Deadline deadline, StreamObserver<GenerateChunk> observer) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(observer, "observer");
    Status refusal = admit();
    if (refusal != null) {
      return refused(request, refusal, observer);
    }
    PreparedRequest prepared = admittedPrepare(request, observer);
    return prepared == null ? ended(request) : started(prepared, deadline, observer);
  }

  /**
   * Validates {@code request}, tokenizes its prompt and resolves its defaults: the one place a request is prepared.
   * May block as long as tokenizing takes; the HTTP front end calls it off its event loops. Admission (rate limit,
   * max-in-flight) happens when the prepared request is started.
   *
   * @throws io.grpc.StatusRuntimeException INVALID_ARGUMENT, OUT_OF_RANGE or NOT_FOUND, with a description
   */
  public PreparedGeneration prepare(GenerateRequest request) {
    Objects.requireNonNull(request, "request");
    try {
      return validator.prepare(request);
    } catch (StatusException e) {
      throw e.getStatus().asRuntimeException();
    }
  }

  /**
   * Starts a request {@link #prepare} returned; see {@link #generate(GenerateRequest, Deadline, StreamObserver)}.
   * Does not block.
   */
  public GenerateCall generate(PreparedGeneration prepared, Deadline deadline, StreamObserver<GenerateChunk> observer) {
    Objects.requireNonNull(observer, "observer");
    if (!(prepared instanceof PreparedRequest req) || req.validator() != validator) {
      throw new IllegalArgumentException("prepared: " + prepared + " (expected: made by this router's prepare)");
    }
    Status refusal = admit();
    if (refusal != null) {
      return refused(req.request(), refusal, observer);
    }
    return started(req, deadline, observer);
  }

  /** The handle of a call that already ended (its observer has its error). */
  private static GenerateCall ended(GenerateRequest request) {
    String id = request.getRequestId();
    return new GenerateCall() {
      @Override
      public String requestId() {
        return id;
      }

      @Override
      public void cancel() {}
    };
  }

  /** Runs a generation and delivers it as one {@link GenerateResponse}; cancellation as for streaming. */
  public GenerateCall generateUnary(GenerateRequest request, Deadline deadline,
      StreamObserver<GenerateResponse> observer) {
    Objects.requireNonNull(request, "request");
    Objects.requireNonNull(observer, "observer");
    Status refusal = admit();
    if (refusal != null) {
      return refused(request, refusal, observer);
    }
    PreparedRequest prepared = admittedPrepare(request, observer);
    if (prepared == null) {
      return ended(request);
    }
    ResponseAggregator aggregator = new ResponseAggregator(observer, prepared.promptTokenIds());
    return started(prepared, deadline, aggregator);
  }

  /**
   * Runs a generation and completes with its response, or exceptionally with a
   * {@link io.grpc.StatusRuntimeException}. Cancelling the future cancels the generation.
   */
  public CompletableFuture<GenerateResponse> generate(GenerateRequest request) {
    CompletableFuture<GenerateResponse> result = new CompletableFuture<>();
    GenerateCall call = generateUnary(request, null, new StreamObserver<>() {
      @Override
      public void onNext(GenerateResponse value) {
        result.complete(value);
      }

      @Override
      public void onError(Throwable t) {
        result.completeExceptionally(t);
      }

      @Override
      public void onCompleted() {}
    });
    result.whenComplete((ok, error) -> {
      if (result.isCancelled()) {
        call.cancel();
      }
    });
    return result;
  }

  private Deadline effectiveDeadline(Deadline clientDeadline) {
    Deadline own = Deadline.after(requestTimeout.toNanos(), TimeUnit.NANOSECONDS);
    return clientDeadline == null ? own : clientDeadline.minimum(own);
  }

  /** What {@code GetModel} returns. The fingerprint is a decode worker's (it includes the KV layout) once known. */
  public ModelDescription model() {
    ServedModel m = ctx.model();
    String fingerprint = ctx.registry().inRotation(WorkerRole.DECODE).stream()
        .map(WorkerSnapshot::modelFingerprint)
        .findFirst()
        .orElse(m.modelSha256());
    return ModelDescription.newBuilder()
        .setName(m.name())
        .setArchitecture(m.architecture())
        .setContextLength(m.contextLength())
        .setVocabSize(m.tokenizer().vocabSize())
        .setFingerprint(fingerprint)
        .setChatTemplate(m.chatTemplate().orElse(""))
        .setBosTokenId(Math.max(0, m.tokenizer().bosId()))
        .setEosTokenId(Math.max(0, m.tokenizer().eosId()))
        .setBosToken(PromptTokens.piece(m.tokenizer(), m.tokenizer().bosId()))
        .setEosToken(PromptTokens.piece(m.tokenizer(), m.tokenizer().eosId()))
        .build();
  }

  /**
   * A builder for the OpenAI-compatible HTTP server in front of this router, already wired to it: prompts are
   * counted with the router's tokenizer, generations get the request timeout as their deadline, a client that goes
   * away cancels its generations on the workers. The chat template sees the model's real BOS/EOS strings; the router
   * does not add a second BOS when a rendered prompt already starts with one. Set host, port, keys and limits, then
   * {@code build().start()}; the caller closes the server before this service.
   */
  public OpenAiHttpServer.Builder openAiHttpServer() {
    ModelDescription m = model();
    return OpenAiHttpServer.builder(new RouterInferenceService(this))
        .chatTemplateTokens(m.getBosToken(), m.getEosToken());
  }

  public ServedModel servedModel() {
    return ctx.model();
  }

  /** Whether at least one decode worker is in rotation (requests can be served). */
  public boolean ready() {
    return !ctx.registry().inRotation(WorkerRole.DECODE).isEmpty();
  }

  /** Every registered worker's current state, prefill workers first, in registration order. */
  public List<WorkerSnapshot> workers() {
    List<WorkerSnapshot> all = new ArrayList<>(ctx.registry().snapshots(WorkerRole.PREFILL));
    all.addAll(ctx.registry().snapshots(WorkerRole.DECODE));
    return all;
  }

  public ServeModeClassifier classifier() {
    return ctx.classifier();
  }

  @Override
  public void close() {
    closed = true;
    scheduler.shutdownNow();
    ctx.registry().close();
    log.debug("router closed");
  }

  /** Configures a {@link RouterService}; every setter validates at once. */
  public static final class Builder {
    private ServedModel model;
    private final List<String> prefillWorkers = new ArrayList<>();
    private final List<String> decodeWorkers = new ArrayList<>();
    private ServeModeClassifier classifier;
    /** 0 until set: setting a threshold selects the threshold rule. */
    private int threshold;
    private WorkerSelector selector = PrefixAwareSelector.withDefaults();
    private Ticker ticker = Ticker.system();
    private int defaultMaxTokens = DEFAULT_MAX_TOKENS;
    private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
    private Duration healthInterval = DEFAULT_HEALTH_INTERVAL;
    private Duration healthTimeout = DEFAULT_HEALTH_TIMEOUT;
    private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
    private Supplier<String> requestIds = () -> UUID.randomUUID().toString();
    private java.util.function.LongSupplier seeds = () -> java.util.concurrent.ThreadLocalRandom.current().nextLong();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    /** Null: the index the health polls feed. */
    private PrefixCacheIndex prefixCacheIndex;
    private long prefixIndexMaxBlocks = PrefixIndex.DEFAULT_MAX_BLOCKS;
    private double kvBandwidthPrior = CostModelClassifier.DEFAULT_KV_BANDWIDTH_PRIOR;
    private double prefillTokensPerSecondPrior = CostModelClassifier.DEFAULT_PREFILL_TOKENS_PER_SECOND_PRIOR;
    private int breakerWindow = DEFAULT_BREAKER_WINDOW;
    private int breakerMinimumCalls = DEFAULT_BREAKER_MINIMUM_CALLS;
    private float breakerFailureRate = DEFAULT_BREAKER_FAILURE_RATE;
    private Duration breakerOpenDuration = DEFAULT_BREAKER_OPEN_DURATION;
    private Duration retryBackoff = DEFAULT_RETRY_BACKOFF;
    private Duration retryBackoffMax = DEFAULT_RETRY_BACKOFF_MAX;
    private int maxInFlight = DEFAULT_MAX_IN_FLIGHT;
    private int rateLimit;
    private Clock clock = Clock.systemUTC();
    private RandomGenerator random = RandomGenerator.getDefault();

    private Builder() {}

    /** The served model and its tokenizer (required). */
    public Builder model(ServedModel model) {
      this.model = Objects.requireNonNull(model, "model");
      return this;
    }

    /** Registers a prefill worker by its gRPC address {@code host:port}. */
    public Builder prefillWorker(String address) {
      prefillWorkers.add(checkAddress(address));
      return this;
    }

    /** Registers a decode worker by its gRPC address {@code host:port}. */
    public Builder decodeWorker(String address) {
      decodeWorkers.add(checkAddress(address));
      return this;
    }

    /**
     * Replaces the serve-mode decision. Default: {@link ThresholdClassifier} when {@link #disaggregateThreshold} was
     * set, else {@link CostModelClassifier#withDefaults()}.
     */
    public Builder classifier(ServeModeClassifier classifier) {
      this.classifier = Objects.requireNonNull(classifier, "classifier");
      return this;
    }

    /** Selects {@link ThresholdClassifier} at this many prompt tokens (unless {@link #classifier} is set). */
    public Builder disaggregateThreshold(int threshold) {
      if (threshold <= 0) {
        throw new IllegalArgumentException("disaggregateThreshold: %s (expected: > 0)".formatted(threshold));
      }
      this.threshold = threshold;
      return this;
    }

    public Builder selector(WorkerSelector selector) {
      this.selector = Objects.requireNonNull(selector, "selector");
      return this;
    }

    /** The clock timings are measured with (default: {@link Ticker#system()}). */
    public Builder ticker(Ticker ticker) {
      this.ticker = Objects.requireNonNull(ticker, "ticker");
      return this;
    }

    public Builder defaultMaxTokens(int defaultMaxTokens) {
      if (defaultMaxTokens <= 0) {
        throw new IllegalArgumentException("defaultMaxTokens: %s (expected: > 0)".formatted(defaultMaxTokens));
      }
      this.defaultMaxTokens = defaultMaxTokens;
      return this;
    }

    /** Deadline of a request whose client set none, and the cap on any client deadline. */
    public Builder requestTimeout(Duration requestTimeout) {
      this.requestTimeout = positive("requestTimeout", requestTimeout);
      return this;
    }

    /** Time between health polls; zero turns background polling off (tests drive {@link #pollHealth()}). */
    public Builder healthInterval(Duration healthInterval) {
      Objects.requireNonNull(healthInterval, "healthInterval");
      if (healthInterval.isNegative()) {
        throw new IllegalArgumentException("healthInterval: %s (expected: >= 0)".formatted(healthInterval));
      }
      this.healthInterval = healthInterval;
      return this;
    }

    public Builder healthTimeout(Duration healthTimeout) {
      this.healthTimeout = positive("healthTimeout", healthTimeout);
      return this;
    }

    /** Workers tried per stage (ReserveKv, Prefill, colocated Decode) before the request fails. */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts <= 0) {
        throw new IllegalArgumentException("maxAttempts: %s (expected: > 0)".formatted(maxAttempts));
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /** Source of ids for requests that arrive without one (default: random UUIDs). */
    public Builder requestIds(Supplier<String> requestIds) {
      this.requestIds = Objects.requireNonNull(requestIds, "requestIds");
      return this;
    }

    /**
     * Source of sampler seeds for sampled requests that arrive without one (default: random). The router fixes the
     * seed once so that the prefill worker (first token) and the decode worker (the rest) sample one consistent
     * stream, as a seeded request would.
     */
    public Builder seeds(java.util.function.LongSupplier seeds) {
      this.seeds = Objects.requireNonNull(seeds, "seeds");
      return this;
    }

    /** Where the router's meters go (default: Micrometer's global registry); see the metrics list in the README. */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
      return this;
    }

    /**
     * What each worker already caches of a prompt. By default, an index fed by the prefix-cache digests in the
     * workers' Health answers; {@link PrefixCacheIndex#none()} turns prefix-aware routing off.
     */
    public Builder prefixCacheIndex(PrefixCacheIndex prefixCacheIndex) {
      this.prefixCacheIndex = Objects.requireNonNull(prefixCacheIndex, "prefixCacheIndex");
      return this;
    }

    /** Bound on the block hashes the default prefix index keeps, over all workers (default 1,048,576). */
    public Builder prefixIndexMaxBlocks(long maxBlocks) {
      if (maxBlocks < 1) {
        throw new IllegalArgumentException("prefixIndexMaxBlocks: " + maxBlocks + " (expected: >= 1)");
      }
      this.prefixIndexMaxBlocks = maxBlocks;
      return this;
    }

    /** KV bandwidth assumed for a path until a transfer on it was measured, bytes/s (default 1.25e9). */
    public Builder kvBandwidthPrior(double bytesPerSecond) {
      if (!(bytesPerSecond > 0)) {
        throw new IllegalArgumentException("kvBandwidthPrior: %s (expected: > 0)".formatted(bytesPerSecond));
      }
      this.kvBandwidthPrior = bytesPerSecond;
      return this;
    }

    /** Prefill speed assumed for a worker until measured, tokens/s (default 2000). */
    public Builder prefillTokensPerSecondPrior(double tokensPerSecond) {
      if (!(tokensPerSecond > 0)) {
        throw new IllegalArgumentException("prefillTokensPerSecondPrior: %s (expected: > 0)".formatted(tokensPerSecond));
      }
      this.prefillTokensPerSecondPrior = tokensPerSecond;
      return this;
    }

    /**
     * Per-worker circuit breaker: a count-based window of {@code window} calls, evaluated once
     * {@code minimumCalls} were recorded, opening at {@code failureRatePercent} failures and staying open for
     * {@code openDuration} before trial calls.
     */
    public Builder circuitBreaker(int window, int minimumCalls, float failureRatePercent, Duration openDuration) {
      if (window <= 0) {
        throw new IllegalArgumentException("breakerWindow: %s (expected: > 0)".formatted(window));
      }
      if (minimumCalls <= 0) {
        throw new IllegalArgumentException("breakerMinimumCalls: %s (expected: > 0)".formatted(minimumCalls));
      }
      if (!(failureRatePercent > 0 && failureRatePercent <= 100)) {
        throw new IllegalArgumentException(
            "breakerFailureRate: %s (expected: in (0, 100])".formatted(failureRatePercent));
      }
      this.breakerWindow = window;
      this.breakerMinimumCalls = minimumCalls;
      this.breakerFailureRate = failureRatePercent;
      this.breakerOpenDuration = positive("breakerOpenDuration", openDuration);
      return this;
    }

    /** Backoff before the second ReserveKv/Prefill attempt, doubling per attempt up to {@code max}, ±50% jitter. */
    public Builder retryBackoff(Duration initial, Duration max) {
      Objects.requireNonNull(initial, "retryBackoff");
      Objects.requireNonNull(max, "retryBackoffMax");
      if (initial.isNegative() || max.compareTo(initial) < 0) {
        throw new IllegalArgumentException("retryBackoff: %s, max %s (expected: 0 <= initial <= max)"
            .formatted(initial, max));
      }
      this.retryBackoff = initial;
      this.retryBackoffMax = max;
      return this;
    }

    /** Requests in flight at once (front-door bulkhead); more get RESOURCE_EXHAUSTED at once (default 1024). */
    public Builder maxInFlight(int maxInFlight) {
      if (maxInFlight <= 0) {
        throw new IllegalArgumentException("maxInFlight: %s (expected: > 0)".formatted(maxInFlight));
      }
      this.maxInFlight = maxInFlight;
      return this;
    }

    /** Requests per second admitted; 0 (the default) for no limit. */
    public Builder rateLimit(int requestsPerSecond) {
      if (requestsPerSecond < 0) {
        throw new IllegalArgumentException("rateLimit: %s (expected: >= 0)".formatted(requestsPerSecond));
      }
      this.rateLimit = requestsPerSecond;
      return this;
    }

    /** The circuit breakers' wall clock (how long a breaker stays open); tests inject a manual one. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Source of retry-backoff jitter; tests inject a seeded one. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    public RouterService build() {
      if (model == null) {
        throw new IllegalStateException("model: not set (expected: the served model and its tokenizer)");
      }
      if (decodeWorkers.isEmpty()) {
        throw new IllegalStateException("decodeWorkers: none (expected: at least one decode worker)");
      }
      return new RouterService(this);
    }

    private static Duration positive(String name, Duration value) {
      Objects.requireNonNull(value, name);
      if (value.isZero() || value.isNegative()) {
        throw new IllegalArgumentException("%s: %s (expected: > 0)".formatted(name, value));
      }
      return value;
    }

    private static String checkAddress(String address) {
      Objects.requireNonNull(address, "address");
      String a = address.strip();
      int colon = a.lastIndexOf(':');
      if (colon <= 0 || colon == a.length() - 1) {
        throw new IllegalArgumentException("worker address: '%s' (expected: host:port)".formatted(address));
      }
      try {
        int port = Integer.parseInt(a.substring(colon + 1));
        if (port <= 0 || port > 65535) {
          throw new IllegalArgumentException("worker address: '%s' (expected: port in 1..65535)".formatted(address));
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("worker address: '%s' (expected: host:port)".formatted(address), e);
      }
      return a;
    }
  }
}
