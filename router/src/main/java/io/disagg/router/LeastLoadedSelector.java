package io.disagg.router;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Prefers the least loaded worker by its last health report corrected by the requests the router started and finished
 * since (see {@link WorkerSnapshot#unreportedRequests()}), so a burst between two polls spreads out instead of piling
 * onto the worker that looked idle.
 *
 * <ul>
 *   <li>Decode workers: those reporting KV room for the prompt plus its generation budget first, then fewest
 *       estimated sequences, then most free KV blocks.</li>
 *   <li>Prefill workers: fewest estimated prompt tokens in flight, then shortest queue.</li>
 * </ul>
 * Ties keep registration order, which keeps routing deterministic for tests. Ignores prefix caches; see
 * {@link PrefixAwareSelector}, which breaks its own ties with this order.
 */
public final class LeastLoadedSelector implements WorkerSelector {
  private static final LeastLoadedSelector INSTANCE = new LeastLoadedSelector();

  private LeastLoadedSelector() {}

  public static LeastLoadedSelector instance() {
    return INSTANCE;
  }

  @Override
  public List<WorkerSnapshot> rank(WorkerRole role, List<WorkerSnapshot> candidates, RequestFacts request,
      Map<String, Integer> cachedPrefixTokens) {
    List<WorkerSnapshot> ranked = new ArrayList<>(candidates);
    if (role == WorkerRole.DECODE) {
      long needed = (long) request.promptTokens() + request.maxTokens();
      ranked.sort(Comparator.comparing((WorkerSnapshot w) -> !w.reportsRoomFor(needed))
          .thenComparingLong(WorkerSnapshot::estimatedSequences)
          .thenComparing(Comparator.comparingInt(WorkerSnapshot::freeKvBlocks).reversed()));
    } else {
      ranked.sort(Comparator.comparingLong(WorkerSnapshot::estimatedPromptTokens)
          .thenComparingInt(w -> Math.max(0, w.queueDepth() + w.unreportedRequests())));
    }
    return ranked;
  }

  @Override
  public String toString() {
    return "LeastLoadedSelector";
  }
}
