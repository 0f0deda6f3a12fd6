package io.disagg.router;

import java.util.List;

/**
 * Orders candidate workers by preference. The router tries them in that order, moving on when a worker refuses
 * (RESOURCE_EXHAUSTED) or cannot be reached, up to its attempt limit. Called from gRPC threads: thread-safe,
 * non-blocking.
 *
 * @see LeastLoadedSelector the default
 */
@FunctionalInterface
public interface WorkerSelector {

  /**
   * Returns {@code candidates} (all in rotation, all of {@code role}) in the order to try them. May drop workers it
   * never wants to use; must not add any.
   */
  List<WorkerSnapshot> rank(WorkerRole role, List<WorkerSnapshot> candidates, RequestFacts request);
}
