package io.disagg.kv;

import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.kv.internal.ClientHandler;
import io.disagg.kv.internal.ConnectionPool;
import io.disagg.kv.internal.FrameDecoder;
import io.disagg.kv.internal.FrameEncoder;
import io.disagg.kv.internal.Handshake;
import io.disagg.kv.internal.KvMeters;
import io.disagg.kv.internal.SendTask;
import io.disagg.kv.internal.Transports;
import io.disagg.proto.v1.KvTransferHeader;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.handler.ssl.SslContext;
import java.lang.foreign.MemorySegment;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The prefill side: pushes KV caches to {@link KvTransferServer}s. Connections are authenticated once per peer and
 * pooled; payload is written straight from the caller's off-heap blocks. Thread-safe; one per process is enough.
 *
 * <pre>{@code
 * KvTransferClient client = KvTransferClient.builder().secret(secret).build();
 * client.push(KvAddress.parse("decode-1:7070"), KvTransferHeaders.forExport(export, ""), export)
 *     .whenCompleteAsync((result, error) -> sequence.close());
 * }</pre>
 */
public final class KvTransferClient implements AutoCloseable {
  private final Transports transports;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final ConnectionPool pool;
  private final LongSupplier nanoTime;
  private final SslContext sslContext;
  private final ClientHandler.Config handlerConfig;
  private final Builder config;

  private KvTransferClient(Builder b) {
    this.config = b;
    this.transports = Transports.choose(b.preferNative);
    this.ownsGroup = b.eventLoopGroup == null;
    this.group = ownsGroup ? transports.newGroup(b.ioThreads, "kv-transfer-client") : b.eventLoopGroup;
    this.nanoTime = b.nanoTime;
    this.sslContext = b.sslContext;
    this.pool = new ConnectionPool(this::connect, b.maxConnectionsPerPeer, b.maxPendingPerPeer);
    this.handlerConfig = new ClientHandler.Config(new Handshake(b.secret), new KvMeters(b.meterRegistry, "send"),
        b.nanoTime, b.random, b.maxDataFrameBytes, b.responseTimeout.toNanos(), b.transferIdleTimeout.toNanos(),
        b.idleTimeout.toNanos(), pool);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** {@code epoll} or {@code nio}. */
  public String transportName() {
    return transports.name();
  }

  /**
   * Pushes a whole KV cache, block after block.
   *
   * @param header describes {@code export}; see {@link KvTransferHeaders#forExport}
   * @param export the blocks to send; the caller keeps them valid until the returned future settles (or, after
   *     cancelling it, until {@link KvSendSession#released()} of {@link #startPush})
   * @return completes with the receiver's ack; fails with a {@link KvTransferException}. Cancelling it cancels the
   *     transfer on both sides.
   */
  public CompletableFuture<TransferResult> push(KvAddress target, KvTransferHeader header, KvExport export) {
    return startPush(target, header, export).result();
  }

  /** As {@link #push}, returning the session so a caller can wait for {@link KvSendSession#released()}. */
  public KvSendSession startPush(KvAddress target, KvTransferHeader header, KvExport export) {
    SendTask task = newTask(target, header, export.layout(), export.blocks(), SendTask.Order.BLOCK_MAJOR);
    pool.submit(task);
    return task;
  }

  /**
   * Starts an incremental push: the header goes out now, each layer as {@link KvSendSession#layerComplete} reports
   * it, the trailer after {@link KvSendSession#finish()}.
   *
   * @param blocks the sequence's block segments in cache order (e.g. {@code sequence.blocks()} mapped to
   *     {@code KvBlock::segment}); kept valid by the caller until {@link KvSendSession#released()}
   */
  public KvSendSession openSession(KvAddress target, KvTransferHeader header, KvLayout layout,
      List<MemorySegment> blocks) {
    SendTask task = newTask(target, header, layout, blocks, SendTask.Order.LAYER_MAJOR);
    pool.submit(task);
    return task;
  }

  private SendTask newTask(KvAddress target, KvTransferHeader header, KvLayout layout, List<MemorySegment> blocks,
      SendTask.Order order) {
    Objects.requireNonNull(target, "target");
    Objects.requireNonNull(header, "header");
    if (header.getBlockCount() != blocks.size()) {
      throw new IllegalArgumentException(
          "header.block_count: " + header.getBlockCount() + " (expected: " + blocks.size() + " blocks given)");
    }
    if (header.getBlockBytes() != layout.blockBytes() || header.getLayers() != layout.layers()) {
      throw new IllegalArgumentException("header layout (" + header.getLayers() + " layers, "
          + header.getBlockBytes() + " bytes/block) does not match " + layout.describe());
    }
    if (blocks.isEmpty()) {
      throw new IllegalArgumentException("blocks: empty (expected: at least one block)");
    }
    List<MemorySegment> readOnly = blocks.stream().map(s -> {
      if (s.byteSize() < layout.blockBytes()) {
        throw new IllegalArgumentException(
            "block segment: " + s.byteSize() + " bytes (expected: >= " + layout.blockBytes() + ")");
      }
      return s.asReadOnly();
    }).toList();
    return new SendTask(target, header, readOnly, order, layout.layers(), layout.blockBytes(), nanoTime);
  }

  private CompletableFuture<ClientHandler> connect(KvAddress target) {
    ClientHandler handler = new ClientHandler(handlerConfig, target);
    Bootstrap b = new Bootstrap()
        .group(group)
        .channel(transports.channelClass(target))
        .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) config.connectTimeout.toMillis())
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(config.writeBufferLowWaterMark, config.writeBufferHighWaterMark))
        .handler(new ChannelInitializer<Channel>() {
          @Override
          protected void initChannel(Channel ch) {
            ChannelPipeline p = ch.pipeline();
            if (sslContext != null && !target.isUnix()) {
              // TLS guards what crosses a network; a Unix socket never leaves this host (see docs/kv-transfer.md).
              p.addLast(sslContext.newHandler(ch.alloc(), target.host(), target.port()));
            }
            p.addLast(new FrameDecoder(KvTransferServer.MAX_CONTROL_BYTES, config.maxDataFrameBytes));
            p.addLast(FrameEncoder.INSTANCE);
            p.addLast(handler);
          }
        });
    if (!target.isUnix()) {
      b.option(ChannelOption.TCP_NODELAY, true);
    }
    if (target.isUnix() && config.unixSendBufferBytes > 0) {
      // Unix sockets do not autotune like TCP: at the default ~208 KiB the sender hits a full socket every few
      // frames and waits for the receiver's wake-up; 4 MiB measured +0.1 of the raw socket's throughput at 256 MiB.
      b.option(ChannelOption.SO_SNDBUF, config.unixSendBufferBytes);
    }
    ChannelFuture cf = b.connect(transports.socketAddress(target));
    cf.addListener(f -> {
      if (!f.isSuccess()) {
        handler.ready().completeExceptionally(new KvTransferException(KvTransferException.Reason.CONNECT_FAILED,
            "cannot connect to " + target + ": " + f.cause(), f.cause()));
      }
    });
    return handler.ready().thenApply(h -> {
      cf.channel().closeFuture().addListener(f -> pool.closed(h));
      return h;
    });
  }

  /** Connections open (idle or busy) to {@code target}; for diagnostics and tests. */
  public int openConnections(KvAddress target) {
    return pool.openConnections(target);
  }

  /** Fails transfers waiting for a connection, closes connections, and stops the event loops if owned. */
  @Override
  public void close() {
    pool.close();
    if (ownsGroup) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
  }

  /** Builder for {@link KvTransferClient}; validates eagerly. */
  public static final class Builder {
    private byte[] secret;
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private LongSupplier nanoTime = System::nanoTime;
    private RandomGenerator random = new SecureRandom();
    private int maxDataFrameBytes = 1 << 20;
    private int maxConnectionsPerPeer = 4;
    private int maxPendingPerPeer = 1024;
    private Duration connectTimeout = Duration.ofSeconds(5);
    private Duration responseTimeout = Duration.ofSeconds(10);
    private Duration transferIdleTimeout = Duration.ofSeconds(30);
    private Duration idleTimeout = Duration.ofSeconds(60);
    private int unixSendBufferBytes = 4 << 20;
    private int writeBufferLowWaterMark = 2 << 20;
    private int writeBufferHighWaterMark = 8 << 20;
    private int ioThreads = 1;
    private boolean preferNative = true;
    private EventLoopGroup eventLoopGroup;
    private SslContext sslContext;

    private Builder() {}

    /** The secret shared with every server (at least 16 bytes). Required. */
    public Builder secret(byte[] secret) {
      this.secret = KvTransferServer.checkSecret(secret);
      return this;
    }

    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    /** Source of {@link System#nanoTime()}-like readings for the durations reported; for tests. */
    public Builder nanoTime(LongSupplier nanoTime) {
      this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
      return this;
    }

    /** Source of handshake nonces; must be cryptographically strong outside tests. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /** Largest payload per DATA frame (default 1 MiB); must not exceed the server's. */
    public Builder maxDataFrameBytes(int bytes) {
      this.maxDataFrameBytes = KvTransferServer.checkPositive("maxDataFrameBytes", bytes);
      return this;
    }

    /** Connections kept to one server (default 4); each carries one transfer at a time. */
    public Builder maxConnectionsPerPeer(int n) {
      this.maxConnectionsPerPeer = KvTransferServer.checkPositive("maxConnectionsPerPeer", n);
      return this;
    }

    /** Transfers that may wait for a connection to one server (default 1024); more fail with BUSY. */
    public Builder maxPendingPerPeer(int n) {
      this.maxPendingPerPeer = KvTransferServer.checkPositive("maxPendingPerPeer", n);
      return this;
    }

    public Builder connectTimeout(Duration d) {
      this.connectTimeout = KvTransferServer.checkPositive("connectTimeout", d);
      return this;
    }

    /** How long to wait for the handshake, the accept, and the final ack (default 10 s). */
    public Builder responseTimeout(Duration d) {
      this.responseTimeout = KvTransferServer.checkPositive("responseTimeout", d);
      return this;
    }

    /**
     * How long queued payload may sit without reaching the socket mid-transfer (the receiver stopped reading) before
     * the transfer fails with TIMEOUT (default 30 s); checked every quarter of the shorter of the two idle timeouts.
     */
    public Builder transferIdleTimeout(Duration d) {
      this.transferIdleTimeout = KvTransferServer.checkPositive("transferIdleTimeout", d);
      return this;
    }

    /** How long an unused pooled connection stays open (default 60 s). */
    public Builder idleTimeout(Duration d) {
      this.idleTimeout = KvTransferServer.checkPositive("idleTimeout", d);
      return this;
    }

    /**
     * Send buffer of Unix-socket connections (SO_SNDBUF; the kernel caps it at {@code net.core.wmem_max}); default
     * 4 MiB, 0 for the kernel's default. TCP connections keep the kernel's autotuning.
     */
    public Builder unixSendBufferBytes(int bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("unixSendBufferBytes: " + bytes + " (expected: >= 0)");
      }
      this.unixSendBufferBytes = bytes;
      return this;
    }

    /** Bytes queued per connection before writing pauses (high) and resumes (low); default 2 / 8 MiB. */
    public Builder writeBufferWaterMarks(int low, int high) {
      KvTransferServer.checkPositive("writeBufferLowWaterMark", low);
      if (high < low) {
        throw new IllegalArgumentException("writeBufferHighWaterMark: " + high + " (expected: >= " + low + ")");
      }
      this.writeBufferLowWaterMark = low;
      this.writeBufferHighWaterMark = high;
      return this;
    }

    /** Event-loop threads when the client owns its group (default 1). */
    public Builder ioThreads(int n) {
      this.ioThreads = KvTransferServer.checkPositive("ioThreads", n);
      return this;
    }

    /** Use native epoll when it loads (default true); NIO otherwise. */
    public Builder preferNative(boolean preferNative) {
      this.preferNative = preferNative;
      return this;
    }

    /** Shares an event-loop group (its transport must match {@link #preferNative}); the caller shuts it down. */
    public Builder eventLoopGroup(EventLoopGroup group) {
      this.eventLoopGroup = Objects.requireNonNull(group, "eventLoopGroup");
      return this;
    }

    /**
     * Encrypts TCP connections with TLS (a client context trusting the servers' certificates; Netty's default checks
     * the host name too); Unix-socket connections stay plaintext, since they never leave the host. Costs the
     * zero-copy send and the cipher (docs/benchmarks.md).
     */
    public Builder sslContext(SslContext sslContext) {
      if (!Objects.requireNonNull(sslContext, "sslContext").isClient()) {
        throw new IllegalArgumentException("sslContext: a server context (expected: a client context)");
      }
      this.sslContext = sslContext;
      return this;
    }

    public KvTransferClient build() {
      if (secret == null) {
        throw new IllegalStateException("secret: not set (expected: the secret shared with the servers)");
      }
      return new KvTransferClient(this);
    }
  }
}
