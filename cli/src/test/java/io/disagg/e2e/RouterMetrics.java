package io.disagg.e2e;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads the router's Prometheus {@code /metrics} (served with {@code --metrics-port}). */
final class RouterMetrics {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  private RouterMetrics() {}

  /** The {@code /metrics} text of the router whose metrics address is {@code hostPort}. */
  static String scrape(String hostPort, String apiKey) {
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + hostPort + "/metrics"))
        .timeout(Duration.ofSeconds(5));
    if (apiKey != null) {
      request.header("Authorization", "Bearer " + apiKey);
    }
    try {
      HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalStateException("GET /metrics: HTTP " + response.statusCode() + ": " + response.body());
      }
      return response.body();
    } catch (IOException e) {
      throw new IllegalStateException("GET /metrics from " + hostPort + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** The sum of every sample of a counter or gauge family ({@code name} or {@code name{...}}), 0 when absent. */
  static double sum(String metrics, String name) {
    double total = 0;
    for (String line : metrics.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        total += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
      }
    }
    return total;
  }

  /** {@code disagg_router_workers_in_rotation{role="..."}}, or -1 when the gauge is absent. */
  static int workersInRotation(String metrics, String role) {
    Matcher m = Pattern.compile("^disagg_router_workers_in_rotation\\{[^}]*role=\"" + role + "\"[^}]*} (\\S+)$",
        Pattern.MULTILINE).matcher(metrics);
    return m.find() ? (int) Double.parseDouble(m.group(1)) : -1;
  }

  /**
   * Waits, bounded, until the router has {@code decode} decode and {@code prefill} prefill workers in rotation. The
   * router prints its ready line after one round of health checks, and a cold worker JVM can miss that round's
   * timeout; it then joins at the next poll.
   */
  static void awaitInRotation(String hostPort, String apiKey, int decode, int prefill, Duration timeout)
      throws InterruptedException {
    String[] last = {""};
    boolean all = LocalCluster.await(timeout, () -> {
      last[0] = scrape(hostPort, apiKey);
      return workersInRotation(last[0], "decode") == decode && workersInRotation(last[0], "prefill") == prefill;
    });
    if (!all) {
      throw new IllegalStateException("workers in rotation after " + timeout + ": decode "
          + workersInRotation(last[0], "decode") + " of " + decode + ", prefill "
          + workersInRotation(last[0], "prefill") + " of " + prefill);
    }
  }
}
