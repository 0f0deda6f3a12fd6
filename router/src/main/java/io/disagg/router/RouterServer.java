package io.disagg.router;

import io.disagg.router.internal.ApiKeyInterceptor;
import io.disagg.router.internal.RouterGrpcService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * The router's gRPC front door ({@code disagg.v1.Router}) bound to a host and port over a {@link RouterService}. Does
 * not own the service: close it separately.
 */
public final class RouterServer implements AutoCloseable {
  private final RouterService service;
  private final String host;
  private final Server server;

  private RouterServer(RouterService service, String host, Server server) {
    this.service = service;
    this.host = host;
    this.server = server;
  }

  /**
   * Binds and starts serving.
   *
   * @param port the port, 0 for an ephemeral one (see {@link #port()})
   * @throws UncheckedIOException when the address cannot be bound
   */
  public static RouterServer start(RouterService service, String host, int port) {
    return start(service, host, port, List.of());
  }

  /**
   * Binds and starts serving; with {@code apiKeys}, every call must carry {@code authorization: Bearer <key>}
   * metadata with one of them or it ends UNAUTHENTICATED.
   *
   * @param port the port, 0 for an ephemeral one (see {@link #port()})
   * @param apiKeys accepted keys; empty leaves the port open
   * @throws UncheckedIOException when the address cannot be bound
   */
  public static RouterServer start(RouterService service, String host, int port, Collection<String> apiKeys) {
    Objects.requireNonNull(service, "service");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(apiKeys, "apiKeys");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port: %s (expected: 0..65535)".formatted(port));
    }
    ServerServiceDefinition routerService = new RouterGrpcService(service).bindService();
    if (!apiKeys.isEmpty()) {
      routerService = ServerInterceptors.intercept(routerService, new ApiKeyInterceptor(apiKeys));
    }
    Server server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .addService(routerService)
        .build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind the router to " + host + ":" + port, e);
    }
    return new RouterServer(service, host, server);
  }

  public RouterService service() {
    return service;
  }

  public String host() {
    return host;
  }

  /** The port actually bound. */
  public int port() {
    return server.getPort();
  }

  /** The one line the launcher and tests parse: {@code disagg router ready: grpc=HOST:PORT}. */
  public String readyLine() {
    return "disagg router ready: grpc=" + host + ":" + port();
  }

  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
        server.awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
