package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * The settings every worker server has, as validated by a {@link WorkerServerBuilder}.
 *
 * @param backend the backend the server owns (and closes)
 * @param host the address to bind
 * @param grpcPort the gRPC port; 0 picks a free one
 * @param workerId the id reported in Health
 * @param kvSecret the kv-transfer secret, UTF-8, at least 16 bytes (copied in and out)
 * @param maxBatchSize most sequences or prompts per engine step
 * @param maxBatchTokens most tokens per engine step
 * @param queueCapacity most requests waiting; more are refused with RESOURCE_EXHAUSTED
 * @param meterRegistry where the worker and its kv-transfer publish their meters
 * @param clock the time source of the engine and the token rate
 * @param random draws seeds for requests that set none
 * @param metricsPort the port of {@code GET /metrics}; -1: none, 0 picks a free one. When not -1,
 *     {@code meterRegistry} is a {@link io.micrometer.prometheusmetrics.PrometheusMeterRegistry}
 */
public record WorkerSettings(Backend backend, String host, int grpcPort, String workerId, byte[] kvSecret,
    int maxBatchSize, int maxBatchTokens, int queueCapacity, MeterRegistry meterRegistry, Clock clock,
    RandomGenerator random, int metricsPort) {

  public WorkerSettings {
    Objects.requireNonNull(backend, "backend");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(workerId, "workerId");
    kvSecret = Objects.requireNonNull(kvSecret, "kvSecret").clone();
    Objects.requireNonNull(meterRegistry, "meterRegistry");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(random, "random");
    if (metricsPort >= 0 && !(meterRegistry instanceof PrometheusMeterRegistry)) {
      throw new IllegalArgumentException("meterRegistry: " + meterRegistry.getClass().getSimpleName()
          + " (expected: a PrometheusMeterRegistry when metricsPort is set)");
    }
  }

  @Override
  public byte[] kvSecret() {
    return kvSecret.clone();
  }
}
