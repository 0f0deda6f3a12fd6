package io.disagg.worker;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * A worker's {@code GET /metrics}: its meters in the Prometheus text exposition format (0.0.4), on a port of its own.
 * Kept off the gRPC port because scrapers speak plain HTTP and carry no credentials; the JDK's HTTP server is enough
 * for a scrape every few seconds and adds no dependency.
 */
public final class MetricsEndpoint implements AutoCloseable {
  /** The content type Prometheus expects for the text format. */
  public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

  private final HttpServer server;
  private final ExecutorService executor;
  private final String host;

  private MetricsEndpoint(HttpServer server, ExecutorService executor, String host) {
    this.server = server;
    this.executor = executor;
    this.host = host;
  }

  /**
   * Binds {@code host:port} (0 picks a free port) and serves {@code registry}.
   *
   * @throws UncheckedIOException when the port cannot be bound
   */
  public static MetricsEndpoint start(PrometheusMeterRegistry registry, String host, int port) {
    Objects.requireNonNull(registry, "registry");
    Objects.requireNonNull(host, "host");
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(String.format("metricsPort: %s (expected: 0..65535)", port));
    }
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 16);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot bind metrics port " + host + ":" + port, e);
    }
    // one thread: scrapes are rare and cheap, and must never compete with the engine for cores
    ExecutorService executor = Executors.newSingleThreadExecutor(
        Thread.ofPlatform().name("worker-metrics").daemon().factory());
    server.setExecutor(executor);
    server.createContext("/metrics", exchange -> serve(exchange, registry));
    server.start();
    return new MetricsEndpoint(server, executor, host);
  }

  private static void serve(HttpExchange exchange, PrometheusMeterRegistry registry) throws IOException {
    try (exchange) {
      String method = exchange.getRequestMethod();
      if (!method.equals("GET") && !method.equals("HEAD")) {
        exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        exchange.sendResponseHeaders(405, -1);
        return;
      }
      byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().set("Content-Type", CONTENT_TYPE);
      boolean head = method.equals("HEAD");
      exchange.sendResponseHeaders(200, head ? -1 : body.length);
      if (!head) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    }
  }

  /** The bound port. */
  public int port() {
    return server.getAddress().getPort();
  }

  /** {@code HOST:PORT} as bound (the host as given to {@link #start}), for the ready line. */
  public String address() {
    return host + ":" + port();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
