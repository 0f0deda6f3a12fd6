package io.disagg.router;

import java.util.List;
import java.util.Objects;

/**
 * Everything a {@link ServeModeClassifier} may look at. A record so later inputs (prefix-cache hits, transfer cost
 * estimates) are added as components without changing the classifier interface.
 *
 * @param request the request
 * @param prefillWorkers prefill workers in rotation that share a model fingerprint with at least one decode candidate
 * @param decodeWorkers decode workers in rotation
 */
public record ClassifierInput(
    RequestFacts request, List<WorkerSnapshot> prefillWorkers, List<WorkerSnapshot> decodeWorkers) {

  public ClassifierInput {
    Objects.requireNonNull(request, "request");
    prefillWorkers = List.copyOf(prefillWorkers);
    decodeWorkers = List.copyOf(decodeWorkers);
  }
}
