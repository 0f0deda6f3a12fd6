package io.disagg.router;

import java.util.List;
import java.util.Map;

/**
 * Orders candidate workers by preference. The router tries them in that order, moving on when a worker refuses
 * (RESOURCE_EXHAUSTED) or cannot be reached, up to its attempt limit. Called from gRPC threads: thread-safe,
 * non-blocking.
 *
 * @see PrefixAwareSelector the default
 * @see LeastLoadedSelector load only
 */
@FunctionalInterface
public interface WorkerSelector {

  /**
   * Returns {@code candidates} (all in rotation, all of {@code role}) in the order to try them. May drop workers it
   * never wants to use; must not add any.
   *
   * @param cachedPrefixTokens per worker id, leading prompt tokens the worker already holds in its prefix cache (from
   *     the {@link PrefixCacheIndex}); absent means 0
   */
  List<WorkerSnapshot> rank(WorkerRole role, List<WorkerSnapshot> candidates, RequestFacts request,
      Map<String, Integer> cachedPrefixTokens);
}
