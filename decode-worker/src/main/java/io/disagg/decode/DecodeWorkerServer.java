package io.disagg.decode;

import io.disagg.backend.spi.Backend;
import io.disagg.decode.internal.DecodeEngine;
import io.disagg.decode.internal.DecodeService;
import io.disagg.decode.internal.ReservationDestination;
import io.disagg.decode.internal.ReservationTable;
import io.disagg.kv.KvAddress;
import io.disagg.kv.KvTransferServer;
import io.disagg.proto.v1.WorkerHealth;
import io.disagg.worker.AbstractWorkerServer;
import io.disagg.worker.RateMeter;
import io.disagg.worker.WorkerHealths;
import io.disagg.worker.WorkerMetrics;
import io.disagg.worker.WorkerServerBuilder;
import io.disagg.worker.WorkerSettings;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.ssl.SslContext;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A decode worker: a gRPC {@code DecodeWorker} service and a kv-transfer server in front of one {@link Backend}.
 * Build one, {@link #start()} it, read {@link #readyLine()}, and {@link #close()} it; tests run it in-process on
 * ephemeral loopback ports. {@link #start()} binds the ports and starts the engine and the reservation sweeper;
 * {@link #close()} fails open streams with UNAVAILABLE and releases every reservation. kv-transfer is plaintext unless
 * the builder has a {@link Builder#kvSslContext TLS context}.
 *
 * <p>The server owns the backend it is given and closes it in {@link #close()}.
 */
public final class DecodeWorkerServer extends AbstractWorkerServer<DecodeWorkerServer> {
  private final String host;
  private final int requestedKvPort;
  private final Path kvUnixSocket;
  private final String kvAdvertise;
  private final byte[] kvSecret;
  private final SslContext kvSslContext;
  private final MeterRegistry meterRegistry;
  private final RateMeter tokenRate;
  private final WorkerMetrics metrics;
  private final DecodeEngine engine;
  private final ReservationTable reservations;
  private final ScheduledExecutorService sweeper;
  private final ReservationDestination destination;
  private KvTransferServer kvServer;
  private volatile String kvAddress = "";

  private DecodeWorkerServer(Builder b, WorkerSettings settings) {
    super("decode worker", settings);
    Backend backend = settings.backend();
    Clock clock = settings.clock();
    this.host = settings.host();
    this.requestedKvPort = b.kvPort;
    this.kvUnixSocket = b.kvUnixSocket;
    this.kvAdvertise = b.kvAdvertise;
    this.kvSecret = settings.kvSecret();
    this.kvSslContext = b.kvSslContext;
    this.meterRegistry = settings.meterRegistry();
    this.tokenRate = new RateMeter(clock, 10);
    // gauges read the engine and reservations at scrape time, so they can be registered before both exist
    this.metrics = new WorkerMetrics(meterRegistry, "decode", settings.workerId(), new WorkerMetrics.Gauges(
        this::queueDepth, this::runningSequences, this::runningSequences, backend.kvPool(), this::reservedBlocks));
    this.engine = new DecodeEngine(backend, settings.maxBatchSize(), settings.maxBatchTokens(),
        settings.queueCapacity(), clock, tokenRate, metrics);
    this.reservations = new ReservationTable(backend.kvPool(), clock, b.reservationTimeout, engine::wakeup);
    this.destination = new ReservationDestination(reservations, backend.model().fingerprint());
    this.sweeper = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("decode-reservation-sweeper").daemon().factory());
    serve(new DecodeService(backend, engine, reservations, clock, settings.random(), b.maxPendingTokens,
        this::isDraining, this::health, this::kvAddress, metrics));
  }

  public static Builder builder(Backend backend) {
    return new Builder(backend);
  }

  @Override
  protected void startParts() {
    engine.start();
    sweeper.scheduleWithFixedDelay(reservations::expire, 1, 1, TimeUnit.SECONDS);
    KvAddress kvBind = kvUnixSocket != null ? KvAddress.unix(kvUnixSocket.toString())
        : KvAddress.tcp(host, requestedKvPort);
    KvTransferServer.Builder kv = KvTransferServer.builder().secret(kvSecret).meterRegistry(meterRegistry)
        .destination(destination).bind(kvBind);
    if (kvSslContext != null) {
      kv.sslContext(kvSslContext);
    }
    kvServer = kv.start();
    kvAddress = kvAdvertise != null ? kvAdvertise : kvServer.boundAddresses().getFirst().toString();
  }

  /** The kv-transfer address prefill workers push to ({@code host:port} or {@code unix:/path}). */
  public String kvAddress() {
    return kvAddress;
  }

  /** The line printed to stdout once serving, which launchers and tests parse. */
  @Override
  public String readyLine() {
    return "disagg decode-worker ready: grpc=" + grpcAddress() + (kvAddress.isEmpty() ? "" : " kv=" + kvAddress)
        + readyLineMetrics();
  }

  private int queueDepth() {
    return engine.queueDepth();
  }

  // a decode step takes one token per running sequence, so it is also what Health reports as tokens in flight
  private int runningSequences() {
    return engine.runningSequences();
  }

  private int reservedBlocks() {
    return reservations.reservedBlocks();
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
    return WorkerHealths.builder(workerId(), WorkerHealth.Role.ROLE_DECODE, isReady(), backend(), tokenRate,
            knownPrefixCacheVersion)
        .setQueueDepth(engine.queueDepth())
        .setTokensInFlight(engine.runningSequences())
        .setRunningSequences(engine.runningSequences())
        .setReservedKvBlocks(reservedBlocks())
        .setKvAddress(kvAddress)
        .build();
  }

  public DecodeWorkerStats stats() {
    return new DecodeWorkerStats(reservations.granted(), reservations.size(),
        reservations.awaitingTransfer(), destination.completed(),
        destination.failed(), destination.bytes(), engine.imports(), engine.colocatedPrefills(),
        engine.tokensGenerated(), engine.cancellations());
  }

  /** Releases reservations whose time is up (also done every second and on every ReserveKv and Health). */
  public int expireReservations() {
    return reservations.expire();
  }

  /**
   * Stops taking new work (ReserveKv and Decode answer UNAVAILABLE, Health says not ready); running sequences and
   * queued requests go on.
   */
  @Override
  public void drain() {
    super.drain();
    backend().drain();
  }

  /** Whether nothing is queued or running; {@link #awaitIdle(Duration)} waits for this. */
  @Override
  public boolean isIdle() {
    return engine.isIdle();
  }

  @Override
  protected void closeParts(boolean started) {
    metrics.close();
    if (!started) {
      return;
    }
    sweeper.shutdownNow();
    if (kvServer != null) {
      kvServer.close();
    }
    engine.close();
    reservations.closeAll();
  }

  /**
   * Settings of a {@link DecodeWorkerServer}; setters validate at once. Of the settings every worker has,
   * {@code maxBatchSize} is the most sequences in one decode step (default 64), {@code maxBatchTokens} the most tokens
   * one engine step processes, one per running sequence plus colocated prompt tokens (default 2048), and
   * {@code queueCapacity} the most Decode requests waiting for admission (default 256); more are refused with
   * RESOURCE_EXHAUSTED.
   */
  public static final class Builder extends WorkerServerBuilder<Builder> {
    private int kvPort;
    private Path kvUnixSocket;
    private String kvAdvertise;
    private SslContext kvSslContext;
    private int maxPendingTokens = 64;
    private Duration reservationTimeout = Duration.ofSeconds(30);

    private Builder(Backend backend) {
      super(backend, "decode", "prefill workers", 64);
    }

    /** 0 picks a free port; ignored when {@link #kvUnixSocket(Path)} is set. */
    public Builder kvPort(int port) {
      this.kvPort = port(port, "kvPort");
      return this;
    }

    /** Serve kv-transfer on a Unix domain socket instead of TCP (the fast path on one host). */
    public Builder kvUnixSocket(Path path) {
      this.kvUnixSocket = path;
      return this;
    }

    /**
     * The kv-transfer address handed to prefill workers, when the bound one is not reachable from them (a wildcard
     * bind such as 0.0.0.0, NAT, a Kubernetes service name); {@code host:port} or {@code unix:/path}.
     */
    public Builder kvAdvertise(String address) {
      Objects.requireNonNull(address, "kvAdvertise");
      try {
        KvAddress.parse(address);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("kvAdvertise: " + address + " (expected: host:port or unix:/path)", e);
      }
      this.kvAdvertise = address;
      return this;
    }

    /**
     * Serves kv-transfer over TLS only, with this server context (the certificate chain and key); prefill workers then
     * push with a client context that trusts the certificate. Costs the receiver one more copy and the cipher. Default:
     * plaintext. The kv-secret handshake runs either way.
     *
     * @throws IllegalArgumentException when {@code serverContext} is a client context
     */
    public Builder kvSslContext(SslContext serverContext) {
      if (Objects.requireNonNull(serverContext, "kvSslContext").isClient()) {
        throw new IllegalArgumentException("kvSslContext: a client context (expected: a server context)");
      }
      this.kvSslContext = serverContext;
      return this;
    }

    /** Tokens a stream may have unsent (client not reading) before its sequence pauses. */
    public Builder maxPendingTokens(int maxPendingTokens) {
      this.maxPendingTokens = positive(maxPendingTokens, "maxPendingTokens");
      return this;
    }

    /** How long a reservation waits for its cache and its Decode before its blocks are released. */
    public Builder reservationTimeout(Duration timeout) {
      Objects.requireNonNull(timeout, "reservationTimeout");
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("reservationTimeout: " + timeout + " (expected: > 0)");
      }
      this.reservationTimeout = timeout;
      return this;
    }

    /** @throws IllegalStateException when no {@code kvSecret} was set */
    public DecodeWorkerServer build() {
      return new DecodeWorkerServer(this, settings());
    }
  }
}
