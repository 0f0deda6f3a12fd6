package io.disagg.router;

import java.util.List;

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

  /** Knows nothing: every prompt is uncached everywhere. */
  static PrefixCacheIndex none() {
    return (worker, prompt) -> 0;
  }
}
