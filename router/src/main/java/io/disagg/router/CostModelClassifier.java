package io.disagg.router;

import java.time.Duration;
import java.util.Objects;

/**
 * The default serve-mode policy: predict the time to first token both ways from measured costs and pick the lower,
 * disaggregating only when that is predicted faster by a margin. The formula, its defaults and the reason codes are in
 * {@code router/README.md} ("Serve-mode policy"); in short, for the decode worker D the router will try first and the
 * best prefill worker P:
 *
 * <pre>
 *   u         = prompt tokens − tokens D already caches
 *   colocated = D.queued × u × D.prefillCost            (queued requests on D, assumed as long as this one)
 *             + u × D.prefillCost                       (the prefill itself)
 *             + stallWeight × D.running × u × D.prefillCost   (every running sequence waits for that prefill)
 *   disagg    = P.tokensAhead × P.prefillCost           (P's queue)
 *             + (prompt − tokens P caches) × P.prefillCost
 *             + prompt × bytesPerToken(P,D) ÷ bandwidth(P,D)
 *             + overhead                                (ReserveKv round trip, the extra RPC, KV import)
 *   disaggregate iff disagg × (1 + margin) &lt; colocated
 * </pre>
 *
 * <p>The reason names the term that decided: the decision is re-evaluated without the transfer, without P's queue and
 * without the batch stall, and the first removal that would flip it is reported.
 */
public final class CostModelClassifier implements ServeModeClassifier {
  /** Prior KV bandwidth before a path is measured: 1.25 GB/s, a 10 Gb/s link. */
  public static final double DEFAULT_KV_BANDWIDTH_PRIOR = 1.25e9;
  /** Prior prefill speed before a worker is measured, in tokens per second. */
  public static final double DEFAULT_PREFILL_TOKENS_PER_SECOND_PRIOR = 2000;
  /** Disaggregated must be predicted this fraction faster before it is chosen. */
  public static final double DEFAULT_HYSTERESIS = 0.2;
  /** Weight of the stall a colocated prefill imposes on each running sequence, relative to this request's TTFT. */
  public static final double DEFAULT_BATCH_STALL_WEIGHT = 0.1;
  /** Fixed cost of the disaggregated path beyond prefill and transfer. */
  public static final Duration DEFAULT_OVERHEAD = Duration.ofMillis(2);

  private static final CostStats DEFAULT_PRIORS =
      CostStats.fixed(DEFAULT_KV_BANDWIDTH_PRIOR, 0, DEFAULT_PREFILL_TOKENS_PER_SECOND_PRIOR);

  private final double hysteresis;
  private final double batchStallWeight;
  private final double overheadSeconds;

  private CostModelClassifier(Builder b) {
    this.hysteresis = b.hysteresis;
    this.batchStallWeight = b.batchStallWeight;
    this.overheadSeconds = b.overhead.toNanos() / 1e9;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The classifier with every default. */
  public static CostModelClassifier withDefaults() {
    return builder().build();
  }

  /** Stats that know nothing but the default priors (and assume free transfers: bytes per token unknown). */
  public static CostStats defaultPriors() {
    return DEFAULT_PRIORS;
  }

  /**
   * The two predictions for one (prefill, decode) pair, in seconds, split into the terms the reason codes name.
   *
   * @param colocatedPrefill D's queue wait plus the prefill of the uncached tokens on D
   * @param batchStall the weighted stall a local prefill causes D's running sequences
   * @param prefillQueue P's queue wait
   * @param disaggregatedPrefill the prompt's prefill on P plus the fixed overhead
   * @param transfer moving the prompt's KV cache from P to D
   */
  public record Estimate(double colocatedPrefill, double batchStall, double prefillQueue, double disaggregatedPrefill,
      double transfer) {

    public double colocated() {
      return colocatedPrefill + batchStall;
    }

    public double disaggregated() {
      return prefillQueue + disaggregatedPrefill + transfer;
    }
  }

  /** The prediction for serving {@code input}'s request with {@code prefill} and {@code decode}. */
  public Estimate estimate(ClassifierInput input, WorkerSnapshot prefill, WorkerSnapshot decode) {
    CostStats stats = input.stats();
    int prompt = input.request().promptTokens();
    int uncached = prompt - input.cachedPrefixTokens(decode);
    double decodeCost = stats.prefillSecondsPerToken(decode);
    double localPrefill = uncached * decodeCost;
    double queuedOnDecode = Math.max(0, decode.queueDepth()) * localPrefill;
    long running = Math.max(0L, (long) decode.runningSequences() + decode.unreportedRequests());
    double stall = batchStallWeight * running * localPrefill;
    double prefillCost = stats.prefillSecondsPerToken(prefill);
    double prefillQueue = prefill.estimatedPromptTokens() * prefillCost;
    double bandwidth = stats.kvBandwidthBytesPerSecond(prefill, decode);
    double transfer = prompt * stats.kvBytesPerToken(prefill, decode) / bandwidth;
    // P prefills only what its own prefix cache lacks, but the whole prompt's KV crosses the wire.
    int uncachedOnPrefill = prompt - input.cachedPrefixTokens(prefill);
    return new Estimate(queuedOnDecode + localPrefill, stall, prefillQueue,
        uncachedOnPrefill * prefillCost + overheadSeconds, transfer);
  }

  @Override
  public ServeDecision classify(ClassifierInput input) {
    if (input.decodeWorkers().isEmpty()) {
      return ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER);
    }
    WorkerSnapshot decode = input.decodeWorkers().getFirst();
    if (input.cachedPrefixTokens(decode) >= input.request().promptTokens()) {
      return ServeDecision.colocated(ServeReasons.FULLY_CACHED);
    }
    Estimate best = null;
    for (WorkerSnapshot prefill : input.prefillWorkers()) {
      if (!prefill.modelFingerprint().equals(decode.modelFingerprint())) {
        continue;
      }
      Estimate e = estimate(input, prefill, decode);
      if (best == null || e.disaggregated() < best.disaggregated()) {
        best = e;
      }
    }
    if (best == null) {
      return ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER);
    }
    double colocated = best.colocated();
    if (wins(best.disaggregated(), colocated)) {
      return ServeDecision.disaggregated(wins(best.disaggregated(), best.colocatedPrefill())
          ? ServeReasons.DISAGGREGATED_CHEAPER : ServeReasons.PROTECTS_DECODE_BATCH);
    }
    if (wins(best.disaggregated() - best.transfer(), colocated)) {
      return ServeDecision.colocated(ServeReasons.TRANSFER_TOO_SLOW);
    }
    if (wins(best.disaggregated() - best.prefillQueue(), colocated)) {
      return ServeDecision.colocated(ServeReasons.PREFILL_QUEUE_LONG);
    }
    return ServeDecision.colocated(ServeReasons.COLOCATED_CHEAPER);
  }

  private boolean wins(double disaggregated, double colocated) {
    return disaggregated * (1 + hysteresis) < colocated;
  }

  public double hysteresis() {
    return hysteresis;
  }

  public double batchStallWeight() {
    return batchStallWeight;
  }

  @Override
  public String toString() {
    return "CostModelClassifier{hysteresis=%s, batchStallWeight=%s, overheadSeconds=%s}"
        .formatted(hysteresis, batchStallWeight, overheadSeconds);
  }

  /** Configures a {@link CostModelClassifier}; every setter validates at once. */
  public static final class Builder {
    private double hysteresis = DEFAULT_HYSTERESIS;
    private double batchStallWeight = DEFAULT_BATCH_STALL_WEIGHT;
    private Duration overhead = DEFAULT_OVERHEAD;

    private Builder() {}

    /**
     * How much faster (as a fraction) disaggregation must be predicted before it is chosen (default 0.2). Higher keeps
     * borderline requests colocated, so estimation noise does not flip the mode request by request.
     */
    public Builder hysteresis(double hysteresis) {
      if (!(hysteresis >= 0 && hysteresis <= 10)) {
        throw new IllegalArgumentException("hysteresis: %s (expected: in 0..10)".formatted(hysteresis));
      }
      this.hysteresis = hysteresis;
      return this;
    }

    /**
     * Weight of each running sequence's stall, relative to this request's own TTFT (default 0.1). 0 optimises TTFT
     * only; higher protects inter-token latency of the batch already decoding.
     */
    public Builder batchStallWeight(double batchStallWeight) {
      if (!(batchStallWeight >= 0 && batchStallWeight <= 100)) {
        throw new IllegalArgumentException("batchStallWeight: %s (expected: in 0..100)".formatted(batchStallWeight));
      }
      this.batchStallWeight = batchStallWeight;
      return this;
    }

    /** Fixed cost of the disaggregated path: ReserveKv round trip, the extra RPC, the KV import (default 2ms). */
    public Builder overhead(Duration overhead) {
      Objects.requireNonNull(overhead, "overhead");
      if (overhead.isNegative()) {
        throw new IllegalArgumentException("overhead: %s (expected: >= 0)".formatted(overhead));
      }
      this.overhead = overhead;
      return this;
    }

    public CostModelClassifier build() {
      return new CostModelClassifier(this);
    }
  }
}
