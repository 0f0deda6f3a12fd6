package io.disagg.openai;

import io.disagg.openai.internal.HttpHandler;
import io.disagg.openai.internal.ServerContext;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;

/**
 * The OpenAI-compatible HTTP/1.1 server (keep-alive, pipelining-safe, SSE streaming) in front of an
 * {@link InferenceService}.
 *
 * <pre>{@code
 * try (OpenAiHttpServer server = OpenAiHttpServer.builder(service).port(8000).apiKeys(List.of(key)).build()) {
 *   server.start();
 *   System.out.println("OpenAI API at " + server.baseUrl());
 *   ...
 * }
 * }</pre>
 *
 * <p>Closing the server closes every connection, which cancels every generation in flight.
 */
public final class OpenAiHttpServer implements AutoCloseable {
  private final Builder config;
  private final ServerContext context;
  private final ExecutorService ownedExecutor;
  private final EventLoopGroup group;
  private final ChannelGroup channels = new DefaultChannelGroup("openai-http", GlobalEventExecutor.INSTANCE);
  private Channel serverChannel;
  private boolean closed;

  private OpenAiHttpServer(Builder b) {
    this.config = b;
    this.ownedExecutor = b.blockingExecutor == null ? Executors.newVirtualThreadPerTaskExecutor() : null;
    this.context = new ServerContext(b.service, b.clock, b.random, List.copyOf(b.apiKeys), b.maxConcurrentRequests,
        b.maxBodyBytes, b.blockingExecutor == null ? ownedExecutor : b.blockingExecutor, b.bosToken, b.eosToken);
    this.group = new MultiThreadIoEventLoopGroup(b.ioThreads, NioIoHandler.newFactory());
  }

  /** A builder for a server in front of {@code service}. */
  public static Builder builder(InferenceService service) {
    return new Builder(service);
  }

  /**
   * Binds the port and starts accepting connections.
   *
   * @throws IllegalStateException if already started or closed, or when the address cannot be bound
   */
  public synchronized OpenAiHttpServer start() {
    if (serverChannel != null || closed) {
      throw new IllegalStateException("start() may be called once, before close()");
    }
    ServerBootstrap bootstrap = new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .option(ChannelOption.SO_BACKLOG, 1024)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            channels.add(ch);
            HttpHandler.install(ch.pipeline(), context);
          }
        });
    try {
      serverChannel = bootstrap.bind(config.host, config.port).sync().channel();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while binding " + config.host + ":" + config.port, e);
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot bind " + config.host + ":" + config.port + ": " + e.getMessage(), e);
    }
    return this;
  }

  /** The bound port (the ephemeral one when configured with 0). */
  public synchronized int port() {
    if (serverChannel == null) {
      throw new IllegalStateException("not started");
    }
    return ((InetSocketAddress) serverChannel.localAddress()).getPort();
  }

  /** {@code http://host:port/v1}, what OpenAI clients take as their base URL. */
  public String baseUrl() {
    String host = config.host.contains(":") ? "[" + config.host + "]" : config.host;
    if (host.equals("0.0.0.0") || host.equals("[::]")) {
      host = "127.0.0.1";
    }
    return "http://" + host + ":" + port() + "/v1";
  }

  /** Requests currently holding one of the {@code maxConcurrentRequests} slots. */
  public int inFlightRequests() {
    return context.inFlight();
  }

  /** Stops accepting, closes every connection (cancelling their generations) and releases the threads. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (serverChannel != null) {
      serverChannel.close().syncUninterruptibly();
    }
    channels.close().syncUninterruptibly();
    group.shutdownGracefully(0, 5, TimeUnit.SECONDS).syncUninterruptibly();
    if (ownedExecutor != null) {
      ownedExecutor.close();
    }
  }

  /** Configures an {@link OpenAiHttpServer}; every setter validates its argument at once. */
  public static final class Builder {
    private final InferenceService service;
    private String host = "127.0.0.1";
    private int port = 8000;
    private final List<String> apiKeys = new ArrayList<>();
    private int maxBodyBytes = 4 << 20;
    private int maxConcurrentRequests = 256;
    private int ioThreads = Math.min(2, Runtime.getRuntime().availableProcessors());
    private Clock clock = Clock.systemUTC();
    private RandomGenerator random = RandomGenerator.of("L64X128MixRandom");
    private java.util.concurrent.Executor blockingExecutor;
    private String bosToken = "";
    private String eosToken = "";

    private Builder(InferenceService service) {
      this.service = Objects.requireNonNull(service, "service");
    }

    /** Address to bind; default {@code 127.0.0.1} (use {@code 0.0.0.0} to serve other machines). */
    public Builder host(String host) {
      Objects.requireNonNull(host, "host");
      if (host.isBlank()) {
        throw new IllegalArgumentException("host: '' (expected: a host name or address)");
      }
      this.host = host;
      return this;
    }

    /** Port to bind; 0 picks a free one (read it back with {@link #port()}); default 8000. */
    public Builder port(int port) {
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 0..65535)");
      }
      this.port = port;
      return this;
    }

    /**
     * Keys accepted as {@code Authorization: Bearer <key>}. None (the default) leaves the API open; {@code /health}
     * is always open so that probes need no secret.
     */
    public Builder apiKeys(Collection<String> keys) {
      for (String key : keys) {
        if (key == null || key.isBlank()) {
          throw new IllegalArgumentException("apiKeys: blank key (expected: non-blank keys)");
        }
      }
      apiKeys.clear();
      apiKeys.addAll(keys);
      return this;
    }

    /** Largest request body accepted; larger ones get 413. Default 4 MiB. */
    public Builder maxBodyBytes(int maxBodyBytes) {
      if (maxBodyBytes <= 0) {
        throw new IllegalArgumentException("maxBodyBytes: " + maxBodyBytes + " (expected: > 0)");
      }
      this.maxBodyBytes = maxBodyBytes;
      return this;
    }

    /** Completion requests served at once; more get 429 with {@code Retry-After}. Default 256. */
    public Builder maxConcurrentRequests(int maxConcurrentRequests) {
      if (maxConcurrentRequests <= 0) {
        throw new IllegalArgumentException("maxConcurrentRequests: " + maxConcurrentRequests + " (expected: > 0)");
      }
      this.maxConcurrentRequests = maxConcurrentRequests;
      return this;
    }

    /** Netty event-loop threads; default min(2, cores). */
    public Builder ioThreads(int ioThreads) {
      if (ioThreads <= 0) {
        throw new IllegalArgumentException("ioThreads: " + ioThreads + " (expected: > 0)");
      }
      this.ioThreads = ioThreads;
      return this;
    }

    /** Source of {@code created} timestamps and of {@code strftime_now} in chat templates. */
    public Builder clock(Clock clock) {
      this.clock = Objects.requireNonNull(clock, "clock");
      return this;
    }

    /** Source of response ids ({@code cmpl-…}, {@code chatcmpl-…}); seed it for reproducible ids in tests. */
    public Builder random(RandomGenerator random) {
      this.random = Objects.requireNonNull(random, "random");
      return this;
    }

    /**
     * Where tokenizer calls ({@link InferenceService#prepare}) and chat-template rendering run, off the
     * event loop. Default: a virtual thread per request, owned and closed by the server.
     */
    public Builder blockingExecutor(java.util.concurrent.Executor executor) {
      this.blockingExecutor = Objects.requireNonNull(executor, "executor");
      return this;
    }

    /**
     * Strings the chat template sees as {@code bos_token} and {@code eos_token}. Both default to empty:
     * {@code ModelDescription} carries only their ids, and the router adds BOS itself when tokenizing.
     */
    public Builder chatTemplateTokens(String bosToken, String eosToken) {
      this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
      this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
      return this;
    }

    public OpenAiHttpServer build() {
      return new OpenAiHttpServer(this);
    }
  }
}
