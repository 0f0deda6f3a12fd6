package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.grpc.BindableService;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle every worker server shares: built → {@link #start()} (once) → {@link #drain()} → {@link #close()}
 * (idempotent), with one gRPC endpoint in front, an optional {@code /metrics} endpoint ({@link MetricsEndpoint}) beside
 * it, and the backend it owns closed last. A worker adds its own parts
 * through {@link #startParts()} and {@link #closeParts(boolean)}, and sets its gRPC service at the end of its
 * constructor with {@link #serve(BindableService)}.
 *
 * @param <S> the concrete server, returned by {@link #start()}
 */
public abstract class AbstractWorkerServer<S extends AbstractWorkerServer<S>> implements WorkerServer {
  private final Logger log = LoggerFactory.getLogger(getClass());
  private final String role;
  private final WorkerSettings settings;
  private GrpcEndpoint grpc;
  private volatile MetricsEndpoint metrics;
  private volatile boolean draining;
  private boolean started;
  private boolean closed;

  /** @param role how logs name the worker ({@code "decode worker"}) */
  protected AbstractWorkerServer(String role, WorkerSettings settings) {
    this.role = Objects.requireNonNull(role, "role");
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /** Sets the gRPC service; the constructor of every subclass ends with this. */
  protected final void serve(BindableService service) {
    if (grpc != null) {
      throw new IllegalStateException("gRPC service already set");
    }
    grpc = new GrpcEndpoint(settings.host(), settings.grpcPort(), service);
  }

  /** Starts the worker's own parts (engine, kv-transfer) before the gRPC port is bound; a failure closes the server. */
  protected abstract void startParts();

  /**
   * Closes the worker's own parts, between refusing new calls and cancelling the calls left.
   *
   * @param started whether {@link #start()} ran (else only what the constructor made needs closing)
   */
  protected abstract void closeParts(boolean started);

  protected final Backend backend() {
    return settings.backend();
  }

  protected final boolean isDraining() {
    return draining;
  }

  /** Started, not draining and not closed: what Health reports as ready. */
  protected final boolean isReady() {
    return started && !draining && !closed;
  }

  /**
   * Starts the worker's parts and binds the gRPC port.
   *
   * @throws IllegalStateException when already started
   * @throws java.io.UncheckedIOException when the gRPC port cannot be bound (the server is closed then)
   */
  @SuppressWarnings("unchecked")
  public final synchronized S start() {
    if (grpc == null) {
      throw new IllegalStateException("no gRPC service (expected: serve(service) in the constructor)");
    }
    if (started) {
      throw new IllegalStateException("already started");
    }
    started = true;
    try {
      startParts();
      grpc.start();
      if (settings.metricsPort() >= 0) {
        metrics = MetricsEndpoint.start((PrometheusMeterRegistry) settings.meterRegistry(), settings.host(),
            settings.metricsPort());
      }
    } catch (RuntimeException e) {
      close();
      throw e;
    }
    log.info("{} {} serving {} on {}", role, settings.workerId(), backend().model().name(), grpcAddress());
    return (S) this;
  }

  @Override
  public final String workerId() {
    return settings.workerId();
  }

  /** The bound gRPC port (after {@link #start()}). */
  public final int grpcPort() {
    return grpc.port();
  }

  public final String grpcAddress() {
    return grpc.address();
  }

  /** {@code host:port} of {@code GET /metrics} (after {@link #start()}), or empty when the server serves none. */
  public final String metricsAddress() {
    MetricsEndpoint m = metrics;
    return m == null ? "" : m.address();
  }

  /**
   * What the ready line ends with: {@code " metrics=HOST:PORT"} when {@code /metrics} is served, else nothing.
   * Appended last so that launchers parsing the earlier fields keep working.
   */
  protected final String readyLineMetrics() {
    String address = metricsAddress();
    return address.isEmpty() ? "" : " metrics=" + address;
  }

  /** Stops taking new work (new calls answer UNAVAILABLE, Health says not ready); what is queued or running goes on. */
  @Override
  public void drain() {
    draining = true;
  }

  /** Stops serving: refuses new calls, closes the worker's parts, cancels the calls left, closes the backend. */
  @Override
  public final synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    draining = true;
    if (started) {
      grpc.shutdown();
    }
    closeParts(started);
    if (started) {
      grpc.shutdownNowAndAwait();
    }
    // last of the endpoints: a final scrape can still see how the worker wound down
    if (metrics != null) {
      metrics.close();
    }
    backend().close();
  }
}
