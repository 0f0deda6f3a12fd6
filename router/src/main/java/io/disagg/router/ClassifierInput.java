package io.disagg.router;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a {@link ServeModeClassifier} may look at. A record so later inputs are added as components without
 * changing the classifier interface.
 *
 * @param request the request
 * @param prefillWorkers prefill workers in rotation that share a model fingerprint with at least one decode candidate
 * @param decodeWorkers decode workers in rotation, in the selector's order of preference: the first is the one the
 *     router will try first
 * @param cachedPrefixTokens per worker id (prefill and decode), leading prompt tokens it already holds in its prefix
 *     cache (from the {@link PrefixCacheIndex}); absent means 0
 * @param stats measured worker speeds and KV path bandwidths, with priors where nothing was measured
 */
public record ClassifierInput(
    RequestFacts request,
    List<WorkerSnapshot> prefillWorkers,
    List<WorkerSnapshot> decodeWorkers,
    Map<String, Integer> cachedPrefixTokens,
    CostStats stats) {

  public ClassifierInput {
    Objects.requireNonNull(request, "request");
    prefillWorkers = List.copyOf(prefillWorkers);
    decodeWorkers = List.copyOf(decodeWorkers);
    cachedPrefixTokens = Map.copyOf(cachedPrefixTokens);
    Objects.requireNonNull(stats, "stats");
  }

  /** Without cache knowledge and with the cost model's default priors: enough for length-only classifiers. */
  public ClassifierInput(RequestFacts request, List<WorkerSnapshot> prefillWorkers,
      List<WorkerSnapshot> decodeWorkers) {
    this(request, prefillWorkers, decodeWorkers, Map.of(), CostModelClassifier.defaultPriors());
  }

  /** Prompt tokens {@code worker} already holds, clamped to the prompt length. */
  public int cachedPrefixTokens(WorkerSnapshot worker) {
    int cached = cachedPrefixTokens.getOrDefault(worker.id(), 0);
    return Math.clamp(cached, 0, request.promptTokens());
  }
}
