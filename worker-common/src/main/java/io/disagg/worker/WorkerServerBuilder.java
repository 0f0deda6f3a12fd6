package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.Objects;
import java.util.UUID;
import java.util.random.RandomGenerator;

/**
 * The settings every worker server's builder has; each setter validates at once. A worker's final {@code Builder}
 * extends this with its own settings and builds from {@link #settings()}.
 *
 * @param <B> the concrete builder, returned by every setter
 */
public abstract class WorkerServerBuilder<B extends WorkerServerBuilder<B>> {
  private final Backend backend;
  private final String role;
  private final String peers;
  private String host = "127.0.0.1";
  private int grpcPort;
  private String workerId;
  private byte[] kvSecret;
  private int maxBatchSize;
  private int maxBatchTokens = 2048;
  private int queueCapacity = 256;
  private MeterRegistry meterRegistry = Metrics.globalRegistry;
  private int metricsPort = -1;
  private Clock clock = Clock.systemUTC();
  private RandomGenerator random = RandomGenerator.getDefault();

  /**
   * @param role the worker's role, the prefix of its default id ({@code decode} gives {@code decode-<random>})
   * @param peers who shares the kv-transfer secret, for the message when it is missing ({@code "prefill workers"})
   * @param defaultMaxBatchSize the worker's default for {@link #maxBatchSize(int)}
   */
  protected WorkerServerBuilder(Backend backend, String role, String peers, int defaultMaxBatchSize) {
    this.backend = Objects.requireNonNull(backend, "backend");
    this.role = Objects.requireNonNull(role, "role");
    this.peers = Objects.requireNonNull(peers, "peers");
    this.maxBatchSize = positive(defaultMaxBatchSize, "maxBatchSize");
  }

  @SuppressWarnings("unchecked")
  private B self() {
    return (B) this;
  }

  public B host(String host) {
    Objects.requireNonNull(host, "host");
    if (host.isBlank()) {
      throw new IllegalArgumentException("host: blank (expected: a host name or address)");
    }
    this.host = host;
    return self();
  }

  /** 0 picks a free port. */
  public B grpcPort(int port) {
    this.grpcPort = port(port, "grpcPort");
    return self();
  }

  /** The id reported in Health (default: the role and 8 random hex digits). */
  public B workerId(String workerId) {
    this.workerId = Objects.requireNonNull(workerId, "workerId");
    return self();
  }

  /** Shared secret of the kv-transfer between prefill and decode workers (UTF-8, at least 16 bytes). Required. */
  public B kvSecret(String kvSecret) {
    Objects.requireNonNull(kvSecret, "kvSecret");
    byte[] bytes = kvSecret.getBytes(StandardCharsets.UTF_8);
    if (bytes.length < 16) {
      throw new IllegalArgumentException(String.format("kvSecret: %s bytes (expected: >= 16)", bytes.length));
    }
    this.kvSecret = bytes;
    return self();
  }

  /** Most sequences (decode) or prompts (prefill) in one engine step. */
  public B maxBatchSize(int maxBatchSize) {
    this.maxBatchSize = positive(maxBatchSize, "maxBatchSize");
    return self();
  }

  /** Most tokens one engine step processes (a longer prompt still runs, alone). */
  public B maxBatchTokens(int maxBatchTokens) {
    this.maxBatchTokens = positive(maxBatchTokens, "maxBatchTokens");
    return self();
  }

  /** Most requests waiting; more are refused with RESOURCE_EXHAUSTED. */
  public B queueCapacity(int queueCapacity) {
    this.queueCapacity = positive(queueCapacity, "queueCapacity");
    return self();
  }

  /**
   * Where the worker's meters ({@link WorkerMetrics}) and kv-transfer's are published (default: Micrometer's global
   * registry). Must be a {@link io.micrometer.prometheusmetrics.PrometheusMeterRegistry} when {@link #metricsPort(int)}
   * is set.
   */
  public B meterRegistry(MeterRegistry meterRegistry) {
    this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
    return self();
  }

  /**
   * Serves the {@link #meterRegistry(MeterRegistry) registry} at {@code GET /metrics} on this port of the
   * {@link #host(String) host}, in the Prometheus text format; 0 picks a free port, -1 (the default) serves none.
   */
  public B metricsPort(int port) {
    if (port < -1 || port > 65535) {
      throw new IllegalArgumentException(String.format("metricsPort: %s (expected: -1..65535)", port));
    }
    this.metricsPort = port;
    return self();
  }

  public B clock(Clock clock) {
    this.clock = Objects.requireNonNull(clock, "clock");
    return self();
  }

  /** Draws seeds for requests that set none. */
  public B random(RandomGenerator random) {
    this.random = Objects.requireNonNull(random, "random");
    return self();
  }

  /**
   * The settings so far, a random worker id filled in when none was set.
   *
   * @throws IllegalStateException when {@link #kvSecret(String)} was not called
   * @throws IllegalArgumentException when {@link #metricsPort(int)} is set and the registry is not a Prometheus one
   */
  protected final WorkerSettings settings() {
    if (kvSecret == null) {
      throw new IllegalStateException("kvSecret: not set (expected: the secret shared with " + peers + ")");
    }
    String id = workerId != null ? workerId : role + "-" + UUID.randomUUID().toString().substring(0, 8);
    return new WorkerSettings(backend, host, grpcPort, id, kvSecret, maxBatchSize, maxBatchTokens, queueCapacity,
        meterRegistry, clock, random, metricsPort);
  }

  /** {@code value} when it is positive; otherwise IllegalArgumentException {@code "name: value (expected: > 0)"}. */
  protected static int positive(int value, String name) {
    if (value <= 0) {
      throw new IllegalArgumentException(String.format("%s: %s (expected: > 0)", name, value));
    }
    return value;
  }

  /** {@code value} when it is a port or 0; otherwise IllegalArgumentException. */
  protected static int port(int value, String name) {
    if (value < 0 || value > 65535) {
      throw new IllegalArgumentException(String.format("%s: %s (expected: 0..65535)", name, value));
    }
    return value;
  }
}
