package io.disagg.router.internal;

import io.disagg.router.WorkerRole;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The router's meters:
 * <ul>
 *   <li>{@code disagg.router.requests} (counter; tags {@code mode}, {@code reason}, {@code outcome} = finish reason or
 *       status code) — one per request when it ends;</li>
 *   <li>{@code disagg.router.first_token} and {@code disagg.router.total} (timers) — TTFT and end-to-end of requests
 *       that finished;</li>
 *   <li>{@code disagg.router.worker_refusals} (counter; tags {@code role}, {@code code}) — attempts that moved to
 *       another worker;</li>
 *   <li>{@code disagg.router.workers_in_rotation} (gauge; tag {@code role}).</li>
 * </ul>
 */
public final class RouterMetrics {
  private final MeterRegistry registry;

  public RouterMetrics(MeterRegistry registry, WorkerRegistry workers) {
    this.registry = registry;
    for (WorkerRole role : WorkerRole.values()) {
      Gauge.builder("disagg.router.workers_in_rotation", workers, w -> w.inRotation(role).size())
          .tag("role", role.name().toLowerCase(Locale.ROOT))
          .description("Workers the router currently sends requests to")
          .register(registry);
    }
  }

  void ended(String mode, String reason, String outcome) {
    Counter.builder("disagg.router.requests")
        .tag("mode", mode)
        .tag("reason", reason)
        .tag("outcome", outcome)
        .register(registry)
        .increment();
  }

  void finished(long firstTokenMicros, long totalMicros) {
    Timer.builder("disagg.router.first_token").register(registry).record(firstTokenMicros, TimeUnit.MICROSECONDS);
    Timer.builder("disagg.router.total").register(registry).record(totalMicros, TimeUnit.MICROSECONDS);
  }

  void refused(WorkerRole role, String code) {
    Counter.builder("disagg.router.worker_refusals")
        .tag("role", role.name().toLowerCase(Locale.ROOT))
        .tag("code", code)
        .register(registry)
        .increment();
  }
}
