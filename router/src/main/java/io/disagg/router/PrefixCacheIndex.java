package io.disagg.router;

import java.util.List;

/**
 * How much of a prompt a decode worker already holds in its prefix cache, so the serve-mode decision counts only the
 * tokens that still need a prefill there.
 *
 * <p>Workers do not publish their cached prefix blocks yet, so the only implementation, {@link #none()}, answers 0 for
 * every worker. An index fed by workers (e.g. block hashes in {@code WorkerHealth}) plugs in here without touching the
 * classifiers. Called once per decode candidate per request from gRPC threads: thread-safe and non-blocking.
 */
@FunctionalInterface
public interface PrefixCacheIndex {

  /**
   * Leading tokens of {@code promptTokenIds} whose KV cache {@code decodeWorker} already holds; 0 when unknown. Values
   * above the prompt length are clamped by the router.
   */
  int cachedPrefixTokens(WorkerSnapshot decodeWorker, List<Integer> promptTokenIds);

  /** Knows nothing: every prompt is uncached everywhere. */
  static PrefixCacheIndex none() {
    return (worker, prompt) -> 0;
  }
}
