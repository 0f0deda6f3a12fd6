package io.disagg.worker;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * A worker's gRPC server on {@code host:port} (port 0 picks one). A worker stops it in two steps around closing its
 * own parts: {@link #shutdown()} refuses new calls, {@link #shutdownNowAndAwait()} cancels the calls left.
 */
public final class GrpcEndpoint {
  private final String host;
  private final int requestedPort;
  private final Server server;

  public GrpcEndpoint(String host, int port, BindableService service) {
    this.host = Objects.requireNonNull(host, "host");
    this.requestedPort = port;
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
        .addService(Objects.requireNonNull(service, "service"))
        .build();
  }

  /**
   * Binds the port.
   *
   * @throws UncheckedIOException when it cannot be bound
   */
  public void start() {
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind gRPC port " + host + ":" + requestedPort, e);
    }
  }

  /** The bound port (after {@link #start()}). */
  public int port() {
    return server.getPort();
  }

  /** {@code host:port}, the port as bound. */
  public String address() {
    return host + ":" + port();
  }

  /** Stops taking new calls; running ones go on. */
  public void shutdown() {
    server.shutdown();
  }

  /** Cancels the calls still running and waits up to 5 seconds for the server to terminate. */
  public void shutdownNowAndAwait() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
