package io.disagg.router.internal;

import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.micrometer.tagged.TaggedBulkheadMetrics;
import io.github.resilience4j.micrometer.tagged.TaggedCircuitBreakerMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * The router's meters. Names are Micrometer's dotted form; the Prometheus registry renders
 * {@code disagg.router.ttft} as {@code disagg_router_ttft_seconds} and counters with {@code _total}. The full list,
 * with meaning and labels, is in {@code docs/operations.md} ("Router metrics"); a test scrapes {@code /metrics} and
 * checks that every documented name appears, so keep the two in step.
 */
public final class RouterMetrics {
  /** TTFT buckets: interactive SLOs sit between 100ms and 2s; long prompts on CPUs reach tens of seconds. */
  static final Duration[] TTFT_BUCKETS = millis(10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 30_000);
  /** Per-token buckets: 20–100ms is where "fluent streaming" SLOs live. */
  static final Duration[] TOKEN_BUCKETS = millis(1, 5, 10, 20, 30, 50, 75, 100, 150, 250, 500, 1000);
  static final Duration[] E2E_BUCKETS = millis(100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 120_000,
      300_000);
  static final Duration[] TRANSFER_BUCKETS = millis(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000);

  private final MeterRegistry registry;
  private final Timer ttft;
  private final Timer tpot;
  private final Timer itl;
  private final Timer e2e;
  private final CostTracker costs;

  private final Counter cachedPromptTokens;
  private final Counter computedPromptTokens;
  public RouterMetrics(MeterRegistry registry, WorkerRegistry workers, Resilience resilience, CostTracker costs,
      PrefixIndex prefixIndex) {
    this.registry = registry;
    Gauge.builder("disagg.router.prefix_index_blocks", prefixIndex, PrefixIndex::indexedBlocks)
        .description("KV block hashes in the router's prefix index (over all workers)")
        .register(registry);
    this.cachedPromptTokens = Counter.builder("disagg.router.prompt_tokens")
        .description("Prompt tokens of finished requests, by whether a worker's prefix cache held them or they were"
            + " computed")
        .tag("source", "cached").register(registry);
    this.computedPromptTokens = Counter.builder("disagg.router.prompt_tokens")
        .description("Prompt tokens of finished requests, by whether a worker's prefix cache held them or they were"
            + " computed")
        .tag("source", "computed").register(registry);
    this.ttft = histogram("disagg.router.ttft", "Time to first token as the client sees it", TTFT_BUCKETS);
    this.tpot = histogram("disagg.router.tpot",
        "Time per output token after the first, one sample per finished request", TOKEN_BUCKETS);
    this.itl = histogram("disagg.router.itl", "Inter-token latency, one sample per generated token after the first",
        TOKEN_BUCKETS);
    this.e2e = histogram("disagg.router.e2e", "Arrival to last token of finished requests", E2E_BUCKETS);
    for (WorkerRole role : WorkerRole.values()) {
      Gauge.builder("disagg.router.workers_in_rotation", workers, w -> w.inRotation(role).size())
          .tag("role", tag(role))
          .description("Workers the router currently sends requests to")
          .register(registry);
    }
    for (WorkerHandle w : workers.all()) {
      workerGauge("disagg.router.worker_queue_depth", "Requests waiting to start, as last reported", w,
          WorkerSnapshot::queueDepth);
      workerGauge("disagg.router.worker_running_sequences",
          "Sequences in the worker's running batch (its batch size), as last reported", w,
          WorkerSnapshot::runningSequences);
      workerGauge("disagg.router.worker_tokens_in_flight",
          "Prompt tokens queued or in prefill (prefill workers) as last reported", w, WorkerSnapshot::tokensInFlight);
      Gauge.builder("disagg.router.worker_kv_blocks", w, h -> h.snapshot().freeKvBlocks())
          .tags("worker", w.id(), "role", tag(w.role()), "state", "free")
          .description("KV cache blocks by state, as last reported").register(registry);
      Gauge.builder("disagg.router.worker_kv_blocks", w, WorkerHandle::reportedReservedKvBlocks)
          .tags("worker", w.id(), "role", tag(w.role()), "state", "reserved")
          .description("KV cache blocks by state, as last reported").register(registry);
      Gauge.builder("disagg.router.worker_kv_blocks", w, h -> Math.max(0,
              h.snapshot().totalKvBlocks() - h.snapshot().freeKvBlocks() - h.reportedReservedKvBlocks()))
          .tags("worker", w.id(), "role", tag(w.role()), "state", "used")
          .description("KV cache blocks by state, as last reported").register(registry);
      for (CircuitBreaker.State state : CircuitBreaker.State.values()) {
        Gauge.builder("disagg.router.circuit_breaker_state", w, h -> h.breaker().getState() == state ? 1 : 0)
            .tags("worker", w.id(), "role", tag(w.role()), "state", state.name().toLowerCase(Locale.ROOT))
            .description("1 for the worker's current circuit breaker state, 0 for the others").register(registry);
      }
    }
    Gauge.builder("disagg.router.requests_in_flight", resilience.bulkhead(),
            b -> b.getBulkheadConfig().getMaxConcurrentCalls() - b.getMetrics().getAvailableConcurrentCalls())
        .description("Requests admitted by the front door and not yet ended").register(registry);
    // Zero-valued from the start, so dashboards and alerts see the series before the first refusal.
    rejected("rate_limited", 0);
    rejected("max_in_flight", 0);
    TaggedCircuitBreakerMetrics.ofCircuitBreakerRegistry(resilience.breakers()).bindTo(registry);
    TaggedBulkheadMetrics.ofBulkheadRegistry(resilience.bulkheads()).bindTo(registry);
    this.costs = costs;
  }

  private Timer histogram(String name, String description, Duration[] buckets) {
    return Timer.builder(name).description(description).serviceLevelObjectives(buckets).register(registry);
  }

  private void workerGauge(String name, String description, WorkerHandle w, ToDoubleFunction<WorkerSnapshot> value) {
    Gauge.builder(name, w, h -> value.applyAsDouble(h.snapshot()))
        .tags("worker", w.id(), "role", tag(w.role()))
        .description(description)
        .register(registry);
  }

  /** A request finished: {@code cached} of its {@code prompt} tokens came from a worker's prefix cache. */
  void promptTokens(int prompt, int cached) {
    cachedPromptTokens.increment(cached);
    computedPromptTokens.increment(Math.max(0, prompt - cached));
  }

  void decided(String mode, String reason) {
    Counter.builder("disagg.router.serve_decisions")
        .description("Serve-mode decisions by mode and reason code; a fallback counts as a second decision")
        .tags("mode", mode, "reason", reason)
        .register(registry)
        .increment();
  }

  void ended(String mode, String reason, String outcome) {
    Counter.builder("disagg.router.requests")
        .description("Requests by serve mode, reason and outcome (finish reason or gRPC status code)")
        .tags("mode", mode, "reason", reason, "outcome", outcome)
        .register(registry)
        .increment();
  }

  void failed(String code) {
    Counter.builder("disagg.router.errors")
        .description("Requests that ended in an error, by gRPC status code")
        .tag("code", code)
        .register(registry)
        .increment();
  }

  /** Counts a request that failed validation: never routed, so no mode or reason. */
  public void invalid(String code) {
    ended("none", "none", code);
    failed(code);
  }

  /** Counts a front-door refusal in the error meter too (it never became a {@code GenerationPipeline}). */
  public void failedAtDoor(String code) {
    failed(code);
  }

  public void rejected(String reason) {
    rejected(reason, 1);
  }

  private void rejected(String reason, double amount) {
    Counter.builder("disagg.router.rejected")
        .description("Requests refused at the front door (RESOURCE_EXHAUSTED / 429) by reason")
        .tag("reason", reason)
        .register(registry)
        .increment(amount);
  }

  void finished(long ttftNanos, long e2eNanos, long decodeNanos, int completionTokens) {
    ttft.record(ttftNanos, TimeUnit.NANOSECONDS);
    e2e.record(e2eNanos, TimeUnit.NANOSECONDS);
    if (completionTokens > 1) {
      tpot.record(decodeNanos / (completionTokens - 1), TimeUnit.NANOSECONDS);
    }
  }

  /** One inter-token gap per token: a chunk of {@code tokens} tokens after {@code gapNanos} is that many gaps. */
  void interToken(long gapNanos, int tokens) {
    for (int i = 0; i < tokens; i++) {
      itl.record(gapNanos / tokens, TimeUnit.NANOSECONDS);
    }
  }

  void refused(WorkerRole role, String code) {
    Counter.builder("disagg.router.worker_refusals")
        .description("Worker attempts that moved on to another worker, by role and status code")
        .tags("role", tag(role), "code", code)
        .register(registry)
        .increment();
  }

  private final java.util.Set<String> bandwidthPaths = java.util.concurrent.ConcurrentHashMap.newKeySet();

  /** A finished KV transfer on the path {@code prefill → decode}. */
  void transferred(String prefill, String decode, long bytes, long micros) {
    if (bytes <= 0) {
      return;
    }
    Counter.builder("disagg.router.kv_transfer_bytes")
        .description("KV cache bytes moved from prefill to decode workers")
        .tags("prefill", prefill, "decode", decode)
        .register(registry)
        .increment(bytes);
    Timer.builder("disagg.router.kv_transfer")
        .description("Duration of KV cache transfers as the prefill worker measured them")
        .tags("prefill", prefill, "decode", decode)
        .serviceLevelObjectives(TRANSFER_BUCKETS)
        .register(registry)
        .record(micros, TimeUnit.MICROSECONDS);
    // A gauge samples its source on every scrape, so it is registered once per path, not once per transfer.
    if (bandwidthPaths.add(prefill + "\u0000" + decode)) {
      Gauge.builder("disagg.router.kv_transfer_bandwidth", costs,
              c -> c.measuredBandwidth(prefill, decode).orElse(Double.NaN))
          .description("Measured KV bandwidth of the path (EWMA), what the cost model uses")
          .baseUnit("bytes_per_second")
          .tags("prefill", prefill, "decode", decode)
          .register(registry);
    }
  }

  private static String tag(WorkerRole role) {
    return role.name().toLowerCase(Locale.ROOT);
  }

  private static Duration[] millis(long... values) {
    Duration[] out = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = Duration.ofMillis(values[i]);
    }
    return out;
  }
}
