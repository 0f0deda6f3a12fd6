package io.disagg.kv;

import io.disagg.kv.internal.FrameDecoder;
import io.disagg.kv.internal.FrameEncoder;
import io.disagg.kv.internal.Handshake;
import io.disagg.kv.internal.KvMeters;
import io.disagg.kv.internal.LandingRecvAllocator;
import io.disagg.kv.internal.ServerHandler;
import io.disagg.kv.internal.Transports;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Metrics;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.AdaptiveRecvByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * The decode side: accepts authenticated connections and fills KV blocks handed out by a {@link KvDestination}.
 * Listens on any mix of TCP and Unix-socket addresses. Thread-safe; {@link #close()} stops it.
 *
 * <pre>{@code
 * PoolKvDestination dest = PoolKvDestination.builder().pool(pool).fingerprint(fp).build();
 * KvTransferServer server = KvTransferServer.builder().secret(secret).destination(dest)
 *     .bind(KvAddress.parse("0.0.0.0:7070")).bind(KvAddress.unix("/run/disagg/kv.sock")).start();
 * ReceivedKv kv = dest.await(requestId).get(30, SECONDS);   // owns kv.reservation()
 * }</pre>
 */
public final class KvTransferServer implements AutoCloseable {
  /** Largest control frame (a header with about a million token ids). */
  public static final int MAX_CONTROL_BYTES = 8 << 20;

  private final Transports transports;
  private final EventLoopGroup group;
  private final boolean ownsGroup;
  private final ChannelGroup channels = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
  private final List<KvAddress> bound = new ArrayList<>();

  private KvTransferServer(Builder b) {
    this.transports = Transports.choose(b.preferNative);
    this.ownsGroup = b.eventLoopGroup == null;
    this.group = ownsGroup ? transports.newGroup(b.ioThreads, "kv-transfer-server") : b.eventLoopGroup;
    KvMeters meters = new KvMeters(b.meterRegistry, "receive");
    Handshake handshake = new Handshake(b.secret);
    try {
      for (KvAddress address : b.addresses) {
        ServerHandler.Config config = new ServerHandler.Config(
            handshake, b.destination, meters, b.nanoTime, b.random, address.transport(), b.eagerPayloadBytes);
        if (address.isUnix()) {
          Files.deleteIfExists(Path.of(address.path()));
        }
        ServerBootstrap sb = new ServerBootstrap()
            .group(group)
            .channel(transports.serverChannelClass(address))
            .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
            // With TLS (below, plaintext channels read in place instead): bigger reads mean fewer frame objects.
            .childOption(ChannelOption.RCVBUF_ALLOCATOR, new AdaptiveRecvByteBufAllocator(4096, 65536, 1 << 20))
            .childHandler(new ChannelInitializer<Channel>() {
              @Override
              protected void initChannel(Channel ch) {
                ChannelPipeline p = ch.pipeline();
                boolean tls = b.sslContext != null && !address.isUnix();
                if (tls) {
                  // TLS guards what crosses a network; a Unix socket never leaves this host.
                  p.addLast(b.sslContext.newHandler(ch.alloc()));
                }
                p.addLast(new IdleStateHandler(b.transferIdleTimeout.toNanos(), 0, b.idleTimeout.toNanos(),
                    TimeUnit.NANOSECONDS));
                FrameDecoder decoder = new FrameDecoder(MAX_CONTROL_BYTES, b.maxDataFrameBytes);
                ServerHandler handler = new ServerHandler(config);
                p.addLast(decoder);
                p.addLast(FrameEncoder.INSTANCE);
                p.addLast(handler);
                if (!tls) {
                  // Plaintext: the socket reads payload straight into the reserved blocks.
                  ch.config().setRecvByteBufAllocator(new LandingRecvAllocator(decoder, handler));
                }
                channels.add(ch);
              }
            });
        if (!address.isUnix()) {
          sb.childOption(ChannelOption.TCP_NODELAY, true);
        }
        Channel server = sb.bind(transports.socketAddress(address)).syncUninterruptibly().channel();
        channels.add(server);
        bound.add(Transports.boundAddress(address, server.localAddress()));
      }
    } catch (Exception e) {
      close();
      throw new IllegalStateException("cannot bind " + b.addresses + ": " + e, e);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The addresses listened on, in {@link Builder#bind} order, with real ports for port 0. */
  public List<KvAddress> boundAddresses() {
    return List.copyOf(bound);
  }

  /** {@code epoll} or {@code nio}. */
  public String transportName() {
    return transports.name();
  }

  /** Closes listeners and connections (failing transfers in flight) and stops the event loops if owned. */
  @Override
  public void close() {
    channels.close().awaitUninterruptibly();
    if (ownsGroup) {
      group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
    for (KvAddress a : bound) {
      if (a.isUnix()) {
        try {
          Files.deleteIfExists(Path.of(a.path()));
        } catch (java.io.IOException ignored) {
          // A stale socket file is replaced on the next bind anyway.
        }
      }
    }
  }

  static byte[] checkSecret(byte[] secret) {
    Objects.requireNonNull(secret, "secret");
    if (secret.length < 16) {
      throw new IllegalArgumentException("secret: " + secret.length + " bytes (expected: >= 16)");
    }
    return secret.clone();
  }

  static int checkPositive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    return value;
  }

  static Duration checkPositive(String name, Duration value) {
    Objects.requireNonNull(value, name);
    if (value.isNegative() || value.isZero()) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
    return value;
  }

  /** Builder for {@link KvTransferServer}; validates eagerly. */
  public static final class Builder {
    private byte[] secret;
    private KvDestination destination;
    private final List<KvAddress> addresses = new ArrayList<>();
    private MeterRegistry meterRegistry = Metrics.globalRegistry;
    private LongSupplier nanoTime = System::nanoTime;
    private RandomGenerator random = new SecureRandom();
    private int maxDataFrameBytes = 4 << 20;
    private int eagerPayloadBytes = 4 << 20;
    private Duration transferIdleTimeout = Duration.ofSeconds(30);
    private Duration idleTimeout = Duration.ofMinutes(5);
    private int ioThreads = 1;
    private boolean preferNative = true;
    private EventLoopGroup eventLoopGroup;
    private SslContext sslContext;

    private Builder() {}

    /** The secret shared with every client (at least 16 bytes). Required. */
    public Builder secret(byte[] secret) {
      this.secret = checkSecret(secret);
      return this;
    }

    /** Where blocks go. Required. */
    public Builder destination(KvDestination destination) {
      this.destination = Objects.requireNonNull(destination, "destination");
      return this;
    }

    /** An address to listen on (TCP port 0 picks a free port); call once per address. At least one required. */
    public Builder bind(KvAddress address) {
      addresses.add(Objects.requireNonNull(address, "address"));
      return this;
    }

    public Builder meterRegistry(MeterRegistry registry) {
      this.meterRegistry = Objects.requireNonNull(registry, "meterRegistry");
      return this;
    }

    public Builder nanoTime(LongSupplier nanoTime) {
      this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
      return this;
    }

    /** Source of handshake nonces; must be cryptographically strong outside tests. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /** Largest payload accepted per DATA frame (default 4 MiB); larger frames close the connection. */
    public Builder maxDataFrameBytes(int bytes) {
      this.maxDataFrameBytes = checkPositive("maxDataFrameBytes", bytes);
      return this;
    }

    /**
     * Payload a client may send right after each header, before the accept (default 4 MiB; 0 turns pipelining off).
     * A transfer this small takes one round trip plus the ack instead of two. It costs no receiver memory: the header
     * is handled (blocks reserved, or REJECT) before any of its payload is read, and after a REJECT the payload is
     * read and dropped; a rejected header wastes at most this much wire traffic.
     */
    public Builder eagerPayloadBytes(int bytes) {
      if (bytes < 0) {
        throw new IllegalArgumentException("eagerPayloadBytes: " + bytes + " (expected: >= 0)");
      }
      this.eagerPayloadBytes = bytes;
      return this;
    }

    /**
     * How long a connection may stay silent during a handshake or a transfer before it fails with TIMEOUT
     * (default 30 s). Incremental senders wait for prefill between layers, so this must exceed one layer's time.
     */
    public Builder transferIdleTimeout(Duration d) {
      this.transferIdleTimeout = checkPositive("transferIdleTimeout", d);
      return this;
    }

    /** How long an idle connection stays open (default 5 min; above clients' idle timeout so they close first). */
    public Builder idleTimeout(Duration d) {
      this.idleTimeout = checkPositive("idleTimeout", d);
      return this;
    }

    public Builder ioThreads(int n) {
      this.ioThreads = checkPositive("ioThreads", n);
      return this;
    }

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
     * Requires TLS with this server context (certificate and key) on TCP addresses; Unix-socket addresses stay
     * plaintext, since they never leave the host. Costs one more copy and the cipher (docs/benchmarks.md).
     */
    public Builder sslContext(SslContext sslContext) {
      if (Objects.requireNonNull(sslContext, "sslContext").isClient()) {
        throw new IllegalArgumentException("sslContext: a client context (expected: a server context)");
      }
      this.sslContext = sslContext;
      return this;
    }

    /** Binds every address and starts accepting. */
    public KvTransferServer start() {
      if (secret == null) {
        throw new IllegalStateException("secret: not set (expected: the secret shared with the clients)");
      }
      if (destination == null) {
        throw new IllegalStateException("destination: not set (expected: e.g. a PoolKvDestination)");
      }
      if (addresses.isEmpty()) {
        throw new IllegalStateException("bind: no address (expected: at least one)");
      }
      return new KvTransferServer(this);
    }
  }
}
