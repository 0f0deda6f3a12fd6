package io.disagg.decode;

import io.disagg.backend.spi.Backend;
import io.disagg.decode.internal.DecodeEngine;
import io.disagg.decode.internal.DecodeService;
import io.disagg.decode.internal.RateMeter;
import io.disagg.decode.internal.ReservationDestination;
import io.disagg.decode.internal.ReservationTable;
import io.disagg.kv.KvAddress;
import io.disagg.kv.KvTransferServer;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A decode worker: a gRPC {@code DecodeWorker} service and a kv-transfer server in front of one {@link Backend}.
 * Build one, {@link #start()} it, read {@link #readyLine()}, and {@link #close()} it; tests run it in-process on
 * ephemeral loopback ports.
 *
 * <p>The server owns the backend it is given and closes it in {@link #close()}.
 */
public final class DecodeWorkerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DecodeWorkerServer.class);

  private final Backend backend;
  private final String host;
  private final int requestedGrpcPort;
  private final int requestedKvPort;
  private final Path kvUnixSocket;
  private final String kvAdvertise;
  private final String workerId;
  private final byte[] kvSecret;
  private final MeterRegistry meterRegistry;
  private final Clock clock;
  private final RateMeter tokenRate;
  private final DecodeEngine engine;
  private final ReservationTable reservations;
  private final ScheduledExecutorService sweeper;
  private final ReservationDestination destination;
  private KvTransferServer kvServer;
  private final Server grpc;
  private volatile String kvAddress = "";
  private volatile boolean draining;
  private boolean started;
  private boolean closed;

  private DecodeWorkerServer(Builder b) {
    this.backend = b.backend;
    this.host = b.host;
    this.requestedGrpcPort = b.grpcPort;
    this.requestedKvPort = b.kvPort;
    this.kvUnixSocket = b.kvUnixSocket;
    this.kvAdvertise = b.kvAdvertise;
    this.workerId = b.workerId != null ? b.workerId : "decode-" + UUID.randomUUID().toString().substring(0, 8);
    this.kvSecret = b.kvSecret;
    this.meterRegistry = b.meterRegistry;
    this.clock = b.clock;
    this.tokenRate = new RateMeter(clock, 10);
    this.engine = new DecodeEngine(backend, b.maxBatchSize, b.maxBatchTokens, b.queueCapacity, clock, tokenRate);
    this.reservations = new ReservationTable(backend.kvPool(), clock, b.reservationTimeout, engine::wakeup);
    this.destination = new ReservationDestination(reservations, backend.model().fingerprint());
    this.sweeper = Executors.newSingleThreadScheduledExecutor(
        Thread.ofPlatform().name("decode-reservation-sweeper").daemon().factory());
    DecodeService service = new DecodeService(backend, engine, reservations, clock, b.random, b.maxPendingTokens,
        () -> draining, this::health);
    this.grpc = NettyServerBuilder.forAddress(new InetSocketAddress(host, b.grpcPort))
        .addService(service)
        .build();
  }

  public static Builder builder(Backend backend) {
    return new Builder(backend);
  }

  /** Binds the ports and starts the engine. */
  public synchronized DecodeWorkerServer start() {
    if (started) {
      throw new IllegalStateException("already started");
    }
    started = true;
    engine.start();
    sweeper.scheduleWithFixedDelay(reservations::expire, 1, 1, TimeUnit.SECONDS);
    try {
      KvAddress kvBind = kvUnixSocket != null ? KvAddress.unix(kvUnixSocket.toString())
          : KvAddress.tcp(host, requestedKvPort);
      kvServer = KvTransferServer.builder().secret(kvSecret).meterRegistry(meterRegistry)
          .destination(destination).bind(kvBind).start();
      kvAddress = kvAdvertise != null ? kvAdvertise : kvServer.boundAddresses().getFirst().toString();
      grpc.start();
    } catch (RuntimeException e) {
      close();
      throw e;
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("cannot bind gRPC port " + host + ":" + requestedGrpcPort, e);
    }
    log.info("decode worker {} serving {} on {}", workerId, backend.model().name(), grpcAddress());
    return this;
  }

  public String workerId() {
    return workerId;
  }

  /** The bound gRPC port (after {@link #start()}). */
  public int grpcPort() {
    return grpc.getPort();
  }

  public String grpcAddress() {
    return host + ":" + grpcPort();
  }

  /** The kv-transfer address prefill workers push to ({@code host:port} or {@code unix:/path}). */
  public String kvAddress() {
    return kvAddress;
  }

  /** The line printed to stdout once serving, which launchers and tests parse. */
  public String readyLine() {
    return "disagg decode-worker ready: grpc=" + grpcAddress() + (kvAddress.isEmpty() ? "" : " kv=" + kvAddress);
  }

  /** What the Health RPC reports. */
  public WorkerHealth health() {
    var pool = backend.kvPool();
    var layout = pool.layout();
    return WorkerHealth.newBuilder()
        .setWorkerId(workerId)
        .setRole(WorkerHealth.Role.ROLE_DECODE)
        .setReady(started && !draining && !closed)
        .setModelFingerprint(backend.model().fingerprint().value())
        .setQueueDepth(engine.queueDepth())
        .setTokensInFlight(engine.runningSequences())
        .setRunningSequences(engine.runningSequences())
        .setFreeKvBlocks(pool.freeBlocks())
        .setTotalKvBlocks(pool.totalBlocks())
        .setRecentTokensPerSecond(tokenRate.perSecond())
        .setKvAddress(kvAddress)
        .setBlockTokens(layout.blockTokens())
        .setKvBytesPerToken(layout.bytesPerToken())
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
  public void drain() {
    draining = true;
    backend.drain();
  }

  /** Waits until nothing is queued or running, up to {@code timeout}; true if it got there. */
  public boolean awaitIdle(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!engine.isIdle()) {
      if (System.nanoTime() >= deadline) {
        return false;
      }
      // a coarse poll is fine here: this runs once, at shutdown
      TimeUnit.MILLISECONDS.sleep(20);
    }
    return true;
  }

  /** Stops serving: open streams fail with UNAVAILABLE, reservations are released, the backend is closed. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    draining = true;
    if (!started) {
      backend.close();
      return;
    }
    grpc.shutdown();
    sweeper.shutdownNow();
    if (kvServer != null) {
      kvServer.close();
    }
    engine.close();
    reservations.closeAll();
    grpc.shutdownNow();
    try {
      grpc.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    backend.close();
  }

  /** Settings of a {@link DecodeWorkerServer}; setters validate at once. */
  public static final class Builder {
    private final Backend backend;
    private String host = "127.0.0.1";
    private int grpcPort;
    private int kvPort;
    private Path kvUnixSocket;
    private String kvAdvertise;
    private String workerId;
    private byte[] kvSecret;
    private int maxBatchSize = 64;
    private int maxBatchTokens = 2048;
    private int queueCapacity = 256;
    private int maxPendingTokens = 64;
    private Duration reservationTimeout = Duration.ofSeconds(30);
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private Clock clock = Clock.systemUTC();
    private RandomGenerator random = RandomGenerator.getDefault();

    private Builder(Backend backend) {
      this.backend = Objects.requireNonNull(backend, "backend");
    }

    public Builder host(String host) {
      Objects.requireNonNull(host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("host: blank (expected: a host name or address)");
      }
      this.host = host;
      return this;
    }

    /** 0 picks a free port. */
    public Builder grpcPort(int port) {
      this.grpcPort = port(port, "grpcPort");
      return this;
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

    public Builder workerId(String workerId) {
      this.workerId = Objects.requireNonNull(workerId, "workerId");
      return this;
    }

    /** Shared secret kv-transfer peers must prove (UTF-8, at least 16 bytes). Required. */
    public Builder kvSecret(String kvSecret) {
      Objects.requireNonNull(kvSecret, "kvSecret");
      byte[] bytes = kvSecret.getBytes(StandardCharsets.UTF_8);
      if (bytes.length < 16) {
        throw new IllegalArgumentException(String.format("kvSecret: %s bytes (expected: >= 16)", bytes.length));
      }
      this.kvSecret = bytes;
      return this;
    }

    /** Most sequences in one decode step. */
    public Builder maxBatchSize(int maxBatchSize) {
      this.maxBatchSize = positive(maxBatchSize, "maxBatchSize");
      return this;
    }

    /** Most tokens one engine step processes: one per running sequence plus colocated prompt tokens. */
    public Builder maxBatchTokens(int maxBatchTokens) {
      this.maxBatchTokens = positive(maxBatchTokens, "maxBatchTokens");
      return this;
    }

    /** Most Decode requests waiting for admission; more are refused with RESOURCE_EXHAUSTED. */
    public Builder queueCapacity(int queueCapacity) {
      this.queueCapacity = positive(queueCapacity, "queueCapacity");
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

    /** Where kv-transfer publishes its meters (default: Micrometer's global registry). */
    public Builder meterRegistry(MeterRegistry meterRegistry) {
      this.meterRegistry = Objects.requireNonNull(meterRegistry, "meterRegistry");
      return this;
    }

    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Draws seeds for requests that set none. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    public DecodeWorkerServer build() {
      if (kvSecret == null) {
        throw new IllegalStateException("kvSecret: not set (expected: the secret shared with prefill workers)");
      }
      return new DecodeWorkerServer(this);
    }

    private static int positive(int value, String name) {
      if (value <= 0) {
        throw new IllegalArgumentException(String.format("%s: %s (expected: > 0)", name, value));
      }
      return value;
    }

    private static int port(int value, String name) {
      if (value < 0 || value > 65535) {
        throw new IllegalArgumentException(String.format("%s: %s (expected: 0..65535)", name, value));
      }
      return value;
    }
  }
}
