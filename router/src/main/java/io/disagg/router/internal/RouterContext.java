package io.disagg.router.internal;

import io.disagg.router.ServeModeClassifier;
import io.disagg.router.ServedModel;
import io.disagg.router.Ticker;
import io.disagg.router.WorkerSelector;
import java.time.Duration;
import java.util.Objects;

/**
 * What every generation shares: the model, the workers, the decision points, the clock and the limits.
 *
 * @param maxAttempts most workers tried per stage (ReserveKv, Prefill, colocated Decode) before giving up
 * @param releaseTimeout deadline of a ReleaseKv sent after the request itself ended (its own deadline may be gone)
 */
public record RouterContext(
    ServedModel model,
    WorkerRegistry registry,
    ServeModeClassifier classifier,
    WorkerSelector selector,
    Ticker ticker,
    int maxAttempts,
    Duration releaseTimeout,
    RouterMetrics metrics) {

  public RouterContext {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(classifier, "classifier");
    Objects.requireNonNull(selector, "selector");
    Objects.requireNonNull(ticker, "ticker");
    Objects.requireNonNull(releaseTimeout, "releaseTimeout");
    Objects.requireNonNull(metrics, "metrics");
  }
}
