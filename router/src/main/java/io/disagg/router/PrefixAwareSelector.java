package io.disagg.router;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * The default selector: prefers the worker where this request adds the least work, counting the prompt tokens its
 * prefix cache already holds as work already done. For each candidate {@code w}:
 *
 * <pre>
 *   newPrefillTokens(w) = prompt tokens − tokens of the prompt's prefix cached on w
 *   prefill worker: cost(w) = newPrefillTokens(w) + prompt tokens queued or in prefill on w (its report plus what
 *                             the router sent since)
 *   decode worker:  cost(w) = prefixWeight × newPrefillTokens(w) + KV tokens held by w's live sequences
 *                             ((total − free blocks) × block tokens) + prompt tokens the router sent it since its report
 * </pre>
 *
 * The lowest cost goes first; decode workers that report no KV room for the prompt plus its generation budget go
 * last whatever their cost, and ties keep {@link LeastLoadedSelector}'s order. The decode cost is Dynamo's KV router
 * cost ({@code overlap_weight × prefill_blocks + decode_blocks}) in tokens; the prefill cost is the prefill work
 * ahead of this request's first token, so a prefill worker's cache and its queue trade one for one.
 *
 * <p>{@code prefixWeight} (default 2) prices a token of prefill against a token of KV held by running decodes. Higher
 * concentrates a shared prefix on the workers that hold it (more hits, less spread); 0 ignores caches. With the
 * default, a hot prefix stays on one decode worker until that worker holds about twice the prefix's length more live
 * KV than the others, after which the next worker takes the traffic and caches the prefix too.
 */
public final class PrefixAwareSelector implements WorkerSelector {
  /**
   * Default price of one new prefill token against one token of live decode KV: 2, because a running sequence's
   * whole context counts as load while recomputing a prefix costs far more than sharing a worker with it. At 1 (the
   * weight Dynamo uses for blocks), one running sequence about as long as the shared prefix already outweighs the
   * cache, and a shared-prefix load test measured 46% hits against 81% at 2 (docs/benchmarks.md).
   */
  public static final double DEFAULT_PREFIX_WEIGHT = 2.0;

  private static final PrefixAwareSelector DEFAULT = new PrefixAwareSelector(DEFAULT_PREFIX_WEIGHT);

  private final double prefixWeight;

  private PrefixAwareSelector(double prefixWeight) {
    this.prefixWeight = prefixWeight;
  }

  /** The selector with {@link #DEFAULT_PREFIX_WEIGHT}. */
  public static PrefixAwareSelector withDefaults() {
    return DEFAULT;
  }

  /**
   * A selector pricing a new prefill token at {@code prefixWeight} tokens of live decode KV.
   *
   * @throws IllegalArgumentException unless 0 ≤ prefixWeight ≤ 1000 (it applies to decode workers; prefill workers
   *     always trade cached and queued tokens one for one)
   */
  public static PrefixAwareSelector withPrefixWeight(double prefixWeight) {
    if (!(prefixWeight >= 0 && prefixWeight <= 1000)) {
      throw new IllegalArgumentException("prefixWeight: %s (expected: in 0..1000)".formatted(prefixWeight));
    }
    return new PrefixAwareSelector(prefixWeight);
  }

  public double prefixWeight() {
    return prefixWeight;
  }

  /** The cost of sending {@code request} to {@code worker}, in token units (lower is better). */
  public double cost(WorkerRole role, WorkerSnapshot worker, RequestFacts request,
      Map<String, Integer> cachedPrefixTokens) {
    int prompt = request.promptTokens();
    int newPrefill = prompt - Math.clamp(cachedPrefixTokens.getOrDefault(worker.id(), 0), 0, prompt);
    if (role == WorkerRole.PREFILL) {
      // Both terms are prefill work ahead of this request's first token: they trade one for one.
      return newPrefill + (double) worker.estimatedPromptTokens();
    }
    long liveBlocks = Math.max(0, worker.totalKvBlocks() - worker.freeKvBlocks());
    double load = Math.max(0L, liveBlocks * worker.blockTokens() + worker.unreportedPromptTokens());
    return prefixWeight * newPrefill + load;
  }

  @Override
  public List<WorkerSnapshot> rank(WorkerRole role, List<WorkerSnapshot> candidates, RequestFacts request,
      Map<String, Integer> cachedPrefixTokens) {
    List<WorkerSnapshot> byLoad = LeastLoadedSelector.instance().rank(role, candidates, request, cachedPrefixTokens);
    List<WorkerSnapshot> ranked = new ArrayList<>(byLoad);
    long needed = (long) request.promptTokens() + request.maxTokens();
    Comparator<WorkerSnapshot> byCost =
        Comparator.comparingDouble(w -> cost(role, w, request, cachedPrefixTokens));
    ranked.sort(role == WorkerRole.DECODE
        ? Comparator.comparing((WorkerSnapshot w) -> !w.reportsRoomFor(needed)).thenComparing(byCost)
        : byCost);
    return ranked;
  }

  @Override
  public String toString() {
    return "PrefixAwareSelector{prefixWeight=" + prefixWeight + "}";
  }
}
