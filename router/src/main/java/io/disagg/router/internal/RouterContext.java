package io.disagg.router.internal;

import io.disagg.router.PrefixCacheIndex;
import io.disagg.router.ServeModeClassifier;
import io.disagg.router.ServedModel;
import io.disagg.router.Ticker;
import io.disagg.router.WorkerSelector;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What every generation shares: the model, the workers, the decision points, the clock and the limits.
 *
 * @param maxAttempts most workers tried per stage (ReserveKv, Prefill, colocated Decode) before giving up
 * @param releaseTimeout deadline of a ReleaseKv sent after the request itself ended (its own deadline may be gone)
 * @param costs measured prefill speeds and KV bandwidths, fed by every generation
 * @param prefixCache what each decode worker already caches of a prompt
 * @param resilience breakers, retry backoff, front-door limits
 * @param scheduler runs delayed retry attempts
 */
public record RouterContext(
    ServedModel model,
    WorkerRegistry registry,
    ServeModeClassifier classifier,
    WorkerSelector selector,
    Ticker ticker,
    int maxAttempts,
    Duration releaseTimeout,
    RouterMetrics metrics,
    CostTracker costs,
    PrefixCacheIndex prefixCache,
    Resilience resilience,
    ScheduledExecutorService scheduler) {

  public RouterContext {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(classifier, "classifier");
    Objects.requireNonNull(selector, "selector");
    Objects.requireNonNull(ticker, "ticker");
    Objects.requireNonNull(releaseTimeout, "releaseTimeout");
    Objects.requireNonNull(metrics, "metrics");
    Objects.requireNonNull(costs, "costs");
    Objects.requireNonNull(prefixCache, "prefixCache");
    Objects.requireNonNull(resilience, "resilience");
    Objects.requireNonNull(scheduler, "scheduler");
  }
}
