package io.disagg.prefill;

import io.disagg.backend.spi.Backend;
import io.disagg.kv.KvTransferClient;
import io.disagg.prefill.internal.KvTransferPusher;
import io.disagg.prefill.internal.PrefillEngine;
import io.disagg.prefill.internal.PrefillService;
import io.disagg.prefill.internal.RateMeter;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A prefill worker: a gRPC {@code PrefillWorker} service in front of one {@link Backend}, pushing every prefilled KV
 * cache to the decode worker named in the request over kv-transfer. Build one, {@link #start()} it, read
 * {@link #readyLine()}, and {@link #close()} it; tests run it in-process on an ephemeral loopback port.
 *
 * <p>The server owns the backend it is given and closes it in {@link #close()}.
 */
public final class PrefillWorkerServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PrefillWorkerServer.class);

  private final Backend backend;
  private final String host;
  private final int requestedGrpcPort;
  private final String workerId;
  private final RateMeter tokenRate;
  private final KvTransferPusher pusher;
  private final PrefillEngine engine;
  private final Server grpc;
  private volatile boolean draining;
  private boolean started;
  private boolean closed;

  private PrefillWorkerServer(Builder b) {
    this.backend = b.backend;
    this.host = b.host;
    this.requestedGrpcPort = b.grpcPort;
    this.workerId = b.workerId != null ? b.workerId : "prefill-" + UUID.randomUUID().toString().substring(0, 8);
    this.tokenRate = new RateMeter(b.clock, 10);
    this.pusher = new KvTransferPusher(
        KvTransferClient.builder().secret(b.kvSecret).meterRegistry(b.meterRegistry).build());
    this.engine = new PrefillEngine(backend, pusher, b.maxBatchTokens, b.maxBatchSize, b.queueCapacity, b.clock,
        tokenRate);
    PrefillService service = new PrefillService(backend.model(), engine, b.clock, b.random, () -> draining,
        this::health);
    this.grpc = NettyServerBuilder.forAddress(new InetSocketAddress(host, b.grpcPort)).addService(service).build();
  }

  public static Builder builder(Backend backend) {
    return new Builder(backend);
  }

  /** Binds the port and starts the engine. */
  public synchronized PrefillWorkerServer start() {
    if (started) {
      throw new IllegalStateException("already started");
    }
    started = true;
    engine.start();
    try {
      grpc.start();
    } catch (IOException e) {
      close();
      throw new UncheckedIOException("cannot bind gRPC port " + host + ":" + requestedGrpcPort, e);
    }
    log.info("prefill worker {} serving {} on {}", workerId, backend.model().name(), grpcAddress());
    return this;
  }

  public String workerId() {
    return workerId;
  }

  public int grpcPort() {
    return grpc.getPort();
  }

  public String grpcAddress() {
    return host + ":" + grpcPort();
  }

  /** The line printed to stdout once serving, which launchers and tests parse. */
  public String readyLine() {
    return "disagg prefill-worker ready: grpc=" + grpcAddress();
  }

  /** What the Health RPC reports. */
  public WorkerHealth health() {
    var pool = backend.kvPool();
    var layout = pool.layout();
    return WorkerHealth.newBuilder()
        .setWorkerId(workerId)
        .setRole(WorkerHealth.Role.ROLE_PREFILL)
        .setReady(started && !draining && !closed)
        .setModelFingerprint(backend.model().fingerprint().value())
        .setQueueDepth(engine.queueDepth())
        .setTokensInFlight(engine.tokensInFlight())
        .setRunningSequences(engine.transfersInFlight())
        .setFreeKvBlocks(pool.freeBlocks())
        .setTotalKvBlocks(pool.totalBlocks())
        .setRecentTokensPerSecond(tokenRate.perSecond())
        .setBlockTokens(layout.blockTokens())
        .setKvBytesPerToken(layout.bytesPerToken())
        .build();
  }

  public PrefillWorkerStats stats() {
    return new PrefillWorkerStats(engine.batches(), engine.prefilled(), engine.transfersCompleted(),
        engine.transfersFailed(), engine.transferBytes());
  }

  /** Stops taking new prompts (Prefill answers UNAVAILABLE, Health says not ready); queued ones still run. */
  public void drain() {
    draining = true;
  }

  /** Waits until nothing is queued, prefilling or being pushed, up to {@code timeout}; true if it got there. */
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

  /** Stops serving: queued prompts fail with UNAVAILABLE, connections close, the backend is closed. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    draining = true;
    if (started) {
      grpc.shutdown();
      engine.close();
      pusher.close();
      grpc.shutdownNow();
      try {
        grpc.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    } else {
      pusher.close();
    }
    backend.close();
  }

  /** Settings of a {@link PrefillWorkerServer}; setters validate at once. */
  public static final class Builder {
    private final Backend backend;
    private String host = "127.0.0.1";
    private int grpcPort;
    private String workerId;
    private byte[] kvSecret;
    private int maxBatchTokens = 2048;
    private int maxBatchSize = 32;
    private int queueCapacity = 256;
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
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException(String.format("grpcPort: %s (expected: 0..65535)", port));
      }
      this.grpcPort = port;
      return this;
    }

    public Builder workerId(String workerId) {
      this.workerId = Objects.requireNonNull(workerId, "workerId");
      return this;
    }

    /** Shared secret proven to decode workers' kv-transfer servers (UTF-8, at least 16 bytes). Required. */
    public Builder kvSecret(String kvSecret) {
      Objects.requireNonNull(kvSecret, "kvSecret");
      byte[] bytes = kvSecret.getBytes(StandardCharsets.UTF_8);
      if (bytes.length < 16) {
        throw new IllegalArgumentException(String.format("kvSecret: %s bytes (expected: >= 16)", bytes.length));
      }
      this.kvSecret = bytes;
      return this;
    }

    /** Most prompt tokens prefilled together in one backend call (a longer prompt still runs, alone). */
    public Builder maxBatchTokens(int maxBatchTokens) {
      this.maxBatchTokens = positive(maxBatchTokens, "maxBatchTokens");
      return this;
    }

    /** Most prompts prefilled together in one backend call. */
    public Builder maxBatchSize(int maxBatchSize) {
      this.maxBatchSize = positive(maxBatchSize, "maxBatchSize");
      return this;
    }

    /** Most prompts waiting; more are refused with RESOURCE_EXHAUSTED. */
    public Builder queueCapacity(int queueCapacity) {
      this.queueCapacity = positive(queueCapacity, "queueCapacity");
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

    public PrefillWorkerServer build() {
      if (kvSecret == null) {
        throw new IllegalStateException("kvSecret: not set (expected: the secret shared with decode workers)");
      }
      return new PrefillWorkerServer(this);
    }

    private static int positive(int value, String name) {
      if (value <= 0) {
        throw new IllegalArgumentException(String.format("%s: %s (expected: > 0)", name, value));
      }
      return value;
    }
  }
}
