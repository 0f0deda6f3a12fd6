package io.disagg.router;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How much of a prompt a worker already holds in its prefix cache, so worker selection and the serve-mode decision
 * count only the tokens that still need a prefill there.
 *
 * <p>The router's default is an index fed by the prefix-cache digests (block hashes) in the workers' Health answers
 * (see {@code RouterService.Builder#prefixCacheIndex}); {@link #none()} turns prefix awareness off. Called once per
 * candidate worker per request from gRPC threads: thread-safe and non-blocking.
 */
@FunctionalInterface
public interface PrefixCacheIndex {

  /**
   * Leading tokens of {@code promptTokenIds} whose KV cache {@code worker} already holds; 0 when unknown. Values above
   * the prompt length are clamped by the router.
   */
  int cachedPrefixTokens(WorkerSnapshot worker, List<Integer> promptTokenIds);

  /**
   * {@link #cachedPrefixTokens(WorkerSnapshot, List)} for each of {@code workers}, keyed by worker id (every worker
   * present, 0 when unknown). The default asks one worker at a time; an index that hashes the prompt overrides it to
   * hash once per request instead of once per worker.
   */
  default Map<String, Integer> cachedPrefixTokens(List<WorkerSnapshot> workers, List<Integer> promptTokenIds) {
    Map<String, Integer> cached = new LinkedHashMap<>();
    for (WorkerSnapshot w : workers) {
      cached.put(w.id(), cachedPrefixTokens(w, promptTokenIds));
    }
    return cached;
  }

  /** Knows nothing: every prompt is uncached everywhere. */
  static PrefixCacheIndex none() {
    return (worker, prompt) -> 0;
  }
}
