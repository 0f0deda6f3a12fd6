package io.disagg.worker;

import io.disagg.backend.spi.KvBlockPool;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.IntSupplier;

/**
 * The meters every worker publishes, tagged {@code worker} (its id) and {@code role} ({@code prefill}/{@code decode}).
 * Names are Micrometer's dotted names; a Prometheus registry exports {@code disagg.worker.tokens} as
 * {@code disagg_worker_tokens_total} and so on (docs/operations.md, "Worker metrics", lists every exported name).
 * Every meter is registered up front, label values included, so that dashboards and {@code rate()} see zeros rather
 * than missing series before the first request. {@link #close()} removes them, so a registry outlives its workers.
 *
 * <p>Thread-safe: the engine thread records steps, gRPC and transport threads record request outcomes.
 */
public final class WorkerMetrics implements AutoCloseable {
  public static final String PREFIX = "disagg.worker";

  /** An engine step's kind: a prefill batch (prompt tokens) or a decode step (one token per sequence). */
  public enum Phase {
    PREFILL, DECODE;

    String label() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * What the gauges read when scraped; each supplier must be cheap and safe to call from any thread.
   *
   * @param queueDepth requests waiting for the engine
   * @param tokensInFlight tokens the engine has taken on and not finished (worker-specific, see the docs)
   * @param runningSequences sequences holding KV blocks between steps
   * @param pool the KV pool whose free and used blocks are reported
   * @param reservedBlocks blocks held by reservations not yet imported (0 where a worker has none)
   */
  public record Gauges(IntSupplier queueDepth, IntSupplier tokensInFlight, IntSupplier runningSequences,
      KvBlockPool pool, IntSupplier reservedBlocks) {
    public Gauges {
      Objects.requireNonNull(queueDepth, "queueDepth");
      Objects.requireNonNull(tokensInFlight, "tokensInFlight");
      Objects.requireNonNull(runningSequences, "runningSequences");
      Objects.requireNonNull(pool, "pool");
      Objects.requireNonNull(reservedBlocks, "reservedBlocks");
    }
  }

  // buckets fixed rather than Micrometer's percentile histogram: a dozen series per worker, not seventy
  private static final Duration[] STEP_BUCKETS = {
      Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(20),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10)};
  private static final double[] SIZE_BUCKETS = {1, 2, 4, 8, 16, 32, 64, 128, 256};
  private static final double[] TOKEN_BUCKETS = {16, 64, 256, 512, 1024, 2048, 4096, 8192, 16384};

  private final MeterRegistry registry;
  private final List<Meter> meters = new ArrayList<>();
  private final Map<Phase, Counter> tokens = new EnumMap<>(Phase.class);
  private final Map<Phase, Timer> steps = new EnumMap<>(Phase.class);
  private final Map<Phase, DistributionSummary> batchSizes = new EnumMap<>(Phase.class);
  private final DistributionSummary batchTokens;
  private final Counter ok;
  private final Counter cancelled;
  private final Counter failed;
  private final Map<Status.Code, Counter> errors = new EnumMap<>(Status.Code.class);
  private final AtomicLong promptTokens = new AtomicLong();
  private final AtomicLong cachedPromptTokens = new AtomicLong();

  /**
   * Registers the meters of one worker.
   *
   * @param role {@code prefill} or {@code decode}, the {@code role} tag
   * @param workerId the {@code worker} tag
   */
  public WorkerMetrics(MeterRegistry registry, String role, String workerId, Gauges gauges) {
    this.registry = Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(gauges, "gauges");
    Tags tags = Tags.of("worker", Objects.requireNonNull(workerId, "workerId"),
        "role", Objects.requireNonNull(role, "role"));
    gauge("queue.depth", tags, gauges.queueDepth(), "Requests waiting for the engine");
    gauge("tokens.in.flight", tags, gauges.tokensInFlight(),
        "Tokens taken on and not finished: prompt tokens queued or prefilling (prefill), tokens per step (decode)");
    gauge("running.sequences", tags, gauges.runningSequences(),
        "Sequences holding KV blocks: decoding (decode), prefilled and being pushed (prefill)");
    KvBlockPool pool = gauges.pool();
    IntSupplier reserved = gauges.reservedBlocks();
    gauge("kv.blocks", tags.and("state", "free"), pool::freeBlocks, "KV pool blocks by state");
    gauge("kv.blocks", tags.and("state", "reserved"), reserved, "KV pool blocks by state");
    // three reads, not one snapshot: clamp so a block moving between states never shows as negative
    gauge("kv.blocks", tags.and("state", "used"),
        () -> Math.max(0, pool.totalBlocks() - pool.freeBlocks() - reserved.getAsInt()), "KV pool blocks by state");
    meters.add(Gauge.builder(PREFIX + ".prefix.cache.hit.ratio", this, WorkerMetrics::prefixCacheHitRatio)
        .tags(tags).strongReference(true)
        .description("Prompt tokens served from a prefix cache over prompt tokens prefilled, since start")
        .register(registry));
    for (Phase phase : Phase.values()) {
      Tags phased = tags.and("phase", phase.label());
      tokens.put(phase, register(Counter.builder(PREFIX + ".tokens").tags(phased)
          .description("Tokens processed: prompt tokens prefilled, tokens generated by decode steps")));
      steps.put(phase, register(Timer.builder(PREFIX + ".step").tags(phased)
          .serviceLevelObjectives(STEP_BUCKETS)
          .description("Duration of a decode step or a prefill batch")));
      batchSizes.put(phase, register(DistributionSummary.builder(PREFIX + ".batch.size").tags(phased)
          .serviceLevelObjectives(SIZE_BUCKETS)
          .description("Sequences per decode step, prompts per prefill batch")));
    }
    batchTokens = register(DistributionSummary.builder(PREFIX + ".batch.tokens").tags(tags).baseUnit("tokens")
        .serviceLevelObjectives(TOKEN_BUCKETS)
        .description("Prompt tokens per prefill batch"));
    ok = outcome(tags, "ok");
    cancelled = outcome(tags, "cancelled");
    failed = outcome(tags, "error");
    for (Status.Code code : Status.Code.values()) {
      if (code != Status.Code.OK && code != Status.Code.CANCELLED) {
        errors.put(code, register(Counter.builder(PREFIX + ".errors").tags(tags).tag("code", code.name())
            .description("Requests that ended in an error, by gRPC status code")));
      }
    }
  }

  private void gauge(String name, Tags tags, IntSupplier value, String description) {
    meters.add(Gauge.builder(PREFIX + "." + name, value, v -> v.getAsInt())
        .tags(tags).strongReference(true).description(description).register(registry));
  }

  private Counter outcome(Tags tags, String outcome) {
    return register(Counter.builder(PREFIX + ".requests").tags(tags).tag("outcome", outcome)
        .description("Requests answered, by outcome: ok, error or cancelled"));
  }

  private Counter register(Counter.Builder b) {
    Counter c = b.register(registry);
    meters.add(c);
    return c;
  }

  private Timer register(Timer.Builder b) {
    Timer t = b.register(registry);
    meters.add(t);
    return t;
  }

  private DistributionSummary register(DistributionSummary.Builder b) {
    DistributionSummary s = b.register(registry);
    meters.add(s);
    return s;
  }

  /**
   * A prefill batch ran: {@code prompts} prompts of {@code promptTokens} tokens in all, {@code cachedPromptTokens} of
   * them served by a prefix cache, in {@code elapsed}.
   */
  public void prefillBatch(int prompts, int promptTokens, int cachedPromptTokens, Duration elapsed) {
    batchSizes.get(Phase.PREFILL).record(prompts);
    batchTokens.record(promptTokens);
    steps.get(Phase.PREFILL).record(elapsed);
    tokens.get(Phase.PREFILL).increment(promptTokens);
    this.promptTokens.addAndGet(promptTokens);
    this.cachedPromptTokens.addAndGet(cachedPromptTokens);
  }

  /** A decode step over {@code sequences} sequences ran in {@code elapsed}, generating one token for each. */
  public void decodeStep(int sequences, Duration elapsed) {
    batchSizes.get(Phase.DECODE).record(sequences);
    steps.get(Phase.DECODE).record(elapsed);
    tokens.get(Phase.DECODE).increment(sequences);
  }

  /**
   * A request was answered, once per request.
   *
   * @param status {@code OK} for a success; {@code CANCELLED} or {@code clientGone} count as cancelled
   * @param clientGone whether the client cancelled the call (or its deadline passed) before this answer
   */
  public void requestEnded(Status status, boolean clientGone) {
    Status.Code code = status.getCode();
    if (code == Status.Code.OK) {
      ok.increment();
    } else if (clientGone || code == Status.Code.CANCELLED) {
      cancelled.increment();
    } else {
      failed.increment();
      errors.get(code).increment();
    }
  }

  /** Cached prompt tokens over prompt tokens since start; 0 before the first prefill. */
  public double prefixCacheHitRatio() {
    long prompts = promptTokens.get();
    return prompts == 0 ? 0 : (double) cachedPromptTokens.get() / prompts;
  }

  /** Removes this worker's meters from the registry. */
  @Override
  public void close() {
    meters.forEach(registry::remove);
    meters.clear();
  }
}
