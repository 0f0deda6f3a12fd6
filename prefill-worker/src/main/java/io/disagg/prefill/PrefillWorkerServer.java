package io.disagg.prefill;

import io.disagg.backend.spi.Backend;
import io.disagg.kv.KvTransferClient;
import io.disagg.prefill.internal.KvTransferPusher;
import io.disagg.prefill.internal.PrefillEngine;
import io.disagg.prefill.internal.PrefillService;
import io.disagg.proto.v1.WorkerHealth;
import io.disagg.worker.AbstractWorkerServer;
import io.disagg.worker.RateMeter;
import io.disagg.worker.WorkerHealths;
import io.disagg.worker.WorkerMetrics;
import io.disagg.worker.WorkerServerBuilder;
import io.disagg.worker.WorkerSettings;
import io.netty.handler.ssl.SslContext;
import java.time.Duration;
import java.util.Objects;

/**
 * A prefill worker: a gRPC {@code PrefillWorker} service in front of one {@link Backend}, pushing every prefilled KV
 * cache to the decode worker named in the request over kv-transfer. Build one, {@link #start()} it, read
 * {@link #readyLine()}, and {@link #close()} it; tests run it in-process on an ephemeral loopback port.
 * {@link #start()} binds the port and starts the engine; {@link #close()} fails queued prompts with UNAVAILABLE and
 * closes kv-transfer connections. Pushes are plaintext unless the builder has a {@link Builder#kvSslContext TLS
 * context}.
 *
 * <p>The server owns the backend it is given and closes it in {@link #close()}.
 */
public final class PrefillWorkerServer extends AbstractWorkerServer<PrefillWorkerServer> {
  private final RateMeter tokenRate;
  private final KvTransferPusher pusher;
  private final PrefillEngine engine;
  private final WorkerMetrics metrics;

  private PrefillWorkerServer(Builder b, WorkerSettings settings) {
    super("prefill worker", settings);
    Backend backend = settings.backend();
    this.tokenRate = new RateMeter(settings.clock(), 10);
    // gauges read the engine at scrape time, so they can be registered before it exists; a prefill worker holds no
    // reservations: its KV blocks are free or used
    this.metrics = new WorkerMetrics(settings.meterRegistry(), "prefill", settings.workerId(),
        new WorkerMetrics.Gauges(this::queueDepth, this::tokensInFlight, this::transfersInFlight, backend.kvPool(),
            () -> 0));
    KvTransferClient.Builder kv = KvTransferClient.builder().secret(settings.kvSecret())
        .meterRegistry(settings.meterRegistry());
    if (b.kvSslContext != null) {
      kv.sslContext(b.kvSslContext);
    }
    this.pusher = new KvTransferPusher(kv.build());
    this.engine = new PrefillEngine(backend, pusher, settings.maxBatchTokens(), settings.maxBatchSize(),
        settings.queueCapacity(), settings.clock(), tokenRate, metrics);
    serve(new PrefillService(backend.model(), engine, settings.clock(), settings.random(), this::isDraining,
        this::health, metrics));
  }

  public static Builder builder(Backend backend) {
    return new Builder(backend);
  }

  @Override
  protected void startParts() {
    engine.start();
  }

  /** The line printed to stdout once serving, which launchers and tests parse. */
  @Override
  public String readyLine() {
    return "disagg prefill-worker ready: grpc=" + grpcAddress() + readyLineMetrics();
  }

  private int queueDepth() {
    return engine.queueDepth();
  }

  private int tokensInFlight() {
    return engine.tokensInFlight();
  }

  // a prefilled sequence keeps its blocks until its push settles, so these are the prefill worker's running ones
  private int transfersInFlight() {
    return engine.transfersInFlight();
  }

  /** What the Health RPC reports to a caller that knows nothing yet (the prefix-cache hashes included). */
  public WorkerHealth health() {
    return health(0);
  }

  /**
   * What the Health RPC reports to a caller that already holds {@code knownPrefixCacheVersion} of the prefix-cache
   * digest: the hashes are left out while that is still the current version.
   */
  public WorkerHealth health(long knownPrefixCacheVersion) {
    return WorkerHealths.builder(workerId(), WorkerHealth.Role.ROLE_PREFILL, isReady(), backend(), tokenRate,
            knownPrefixCacheVersion)
        .setQueueDepth(engine.queueDepth())
        .setTokensInFlight(engine.tokensInFlight())
        .setRunningSequences(engine.transfersInFlight())
        .build();
  }

  public PrefillWorkerStats stats() {
    return new PrefillWorkerStats(engine.batches(), engine.prefilled(), engine.transfersCompleted(),
        engine.transfersFailed(), engine.transferBytes());
  }

  /** Whether nothing is queued, prefilling or being pushed; {@link #awaitIdle(Duration)} waits for this. */
  @Override
  public boolean isIdle() {
    return engine.isIdle();
  }

  @Override
  protected void closeParts(boolean started) {
    metrics.close();
    if (started) {
      engine.close();
    }
    pusher.close();
  }

  /**
   * Settings of a {@link PrefillWorkerServer}; setters validate at once. Of the settings every worker has,
   * {@code maxBatchSize} is the most prompts prefilled together in one backend call (default 32),
   * {@code maxBatchTokens} the most prompt tokens prefilled together (a longer prompt still runs, alone; default 2048),
   * and {@code queueCapacity} the most prompts waiting (default 256); more are refused with RESOURCE_EXHAUSTED. The
   * {@code kvSecret} is proven to decode workers' kv-transfer servers.
   */
  public static final class Builder extends WorkerServerBuilder<Builder> {
    private SslContext kvSslContext;

    private Builder(Backend backend) {
      super(backend, "prefill", "decode workers", 32);
    }

    /**
     * Pushes over TLS with this client context, which must trust the decode workers' kv-transfer certificates (they
     * serve TLS only when given a server context). Default: plaintext. The kv-secret handshake runs either way.
     *
     * @throws IllegalArgumentException when {@code clientContext} is a server context
     */
    public Builder kvSslContext(SslContext clientContext) {
      if (!Objects.requireNonNull(clientContext, "kvSslContext").isClient()) {
        throw new IllegalArgumentException("kvSslContext: a server context (expected: a client context)");
      }
      this.kvSslContext = clientContext;
      return this;
    }

    /** @throws IllegalStateException when no {@code kvSecret} was set */
    public PrefillWorkerServer build() {
      return new PrefillWorkerServer(this, settings());
    }
  }
}
