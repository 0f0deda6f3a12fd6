package io.disagg.e2e;

import io.disagg.client.DisaggClient;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.RouterGrpc;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A Disagg cluster of real processes on loopback: decode workers, prefill workers and a router, each its own JVM,
 * started as {@code disagg local} starts them (same java binary, JVM flags and class path, one random
 * {@code DISAGG_KV_SECRET} in the environment, every port 0, addresses read from the ready lines). The router
 * requires a random API key ({@link #apiKey()}) on both its ports. Workers start in parallel; every start waits at
 * most {@link #STARTUP_TIMEOUT}. {@link #close()} stops everything and fails if Netty reported a leak.
 *
 * <p>Components are launched through their own entry points ({@code RouterMain}, {@code PrefillWorkerMain},
 * {@code DecodeWorkerMain}), which {@code ./disagg router|prefill-worker|decode-worker} delegate to; the
 * delegation itself is covered by {@link LocalCommandE2ETest}.
 */
final class LocalCluster implements AutoCloseable {
  static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);

  private final String secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
  private final String apiKey = "sk-e2e-" + HexFormat.of().formatHex(new SecureRandom().generateSeed(8));
  private final Map<String, ChildJvm> workers = new LinkedHashMap<>();
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private ChildJvm router;
  private DisaggClient client;

  private LocalCluster() {}

  /** The embedded stories260K model in the repository. */
  static Path model() {
    String dir = System.getProperty("disagg.project.dir");
    Path root = dir != null ? Path.of(dir) : Path.of("").toAbsolutePath().getParent();
    Path model = root.resolve("models/stories260K/stories260K.gguf");
    if (!Files.isRegularFile(model)) {
      throw new IllegalStateException("embedded model not found at " + model + " (disagg.project.dir=" + dir + ")");
    }
    return model.toAbsolutePath();
  }

  static Builder builder() {
    return new Builder();
  }

  static final class Builder {
    private final Map<String, List<String>> decode = new LinkedHashMap<>();
    private final Map<String, List<String>> prefill = new LinkedHashMap<>();
    private final List<String> routerArgs = new ArrayList<>();

    /** Adds a decode worker with this id and extra flags (e.g. {@code --kv-blocks 4}). */
    Builder decodeWorker(String id, String... extraArgs) {
      decode.put(id, List.of(extraArgs));
      return this;
    }

    Builder prefillWorker(String id, String... extraArgs) {
      prefill.put(id, List.of(extraArgs));
      return this;
    }

    Builder routerArgs(String... args) {
      routerArgs.addAll(Arrays.asList(args));
      return this;
    }

    LocalCluster start() {
      if (decode.isEmpty()) {
        throw new IllegalArgumentException("decode workers: 0 (expected: >= 1)");
      }
      LocalCluster cluster = new LocalCluster();
      try {
        cluster.startAll(this);
      } catch (RuntimeException | Error e) {
        cluster.close();
        throw e;
      }
      return cluster;
    }
  }

  private void startAll(Builder b) {
    String model = model().toString();
    Map<String, String> env = Map.of("DISAGG_KV_SECRET", secret);
    b.decode.forEach((id, extra) -> workers.put(id, ChildJvm.start(id, "decode-worker",
        "io.disagg.decode.DecodeWorkerMain", workerArgs(model, id, extra, "--kv-port", "0"), env)));
    b.prefill.forEach((id, extra) -> workers.put(id, ChildJvm.start(id, "prefill-worker",
        "io.disagg.prefill.PrefillWorkerMain", workerArgs(model, id, extra), env)));
    for (ChildJvm worker : workers.values()) {
      worker.awaitReady(STARTUP_TIMEOUT);
    }
    List<String> args = new ArrayList<>(List.of("--model", model, "--grpc-port", "0", "--http-port", "0",
        "--metrics-port", "0"));
    for (String id : b.decode.keySet()) {
      args.addAll(List.of("--decode", grpc(id)));
    }
    for (String id : b.prefill.keySet()) {
      args.addAll(List.of("--prefill", grpc(id)));
    }
    args.addAll(b.routerArgs);
    // the key reaches the router through its environment, so it shows in no process listing
    router = ChildJvm.start("router", "router", "io.disagg.router.RouterMain", args,
        Map.of("DISAGG_KV_SECRET", secret, "DISAGG_API_KEY", apiKey));
    router.awaitReady(STARTUP_TIMEOUT);
    try {
      RouterMetrics.awaitInRotation(routerMetrics(), apiKey, b.decode.size(), b.prefill.size(), STARTUP_TIMEOUT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    client = DisaggClient.builder().target(routerGrpc()).usePlaintext().apiKey(apiKey)
        .defaultDeadline(Duration.ofSeconds(60)).build();
  }

  private static List<String> workerArgs(String model, String id, List<String> extra, String... more) {
    List<String> args = new ArrayList<>(List.of("--model", model, "--worker-id", id, "--grpc-port", "0",
        "--threads", "1", "--drain-timeout-ms", "2000", "--metrics-port", "0"));
    args.addAll(Arrays.asList(more));
    args.addAll(extra);
    return args;
  }

  /** A worker's Prometheus {@code /metrics} address, {@code host:port}. */
  String workerMetrics(String workerId) {
    return worker(workerId).readyFields().get("metrics");
  }

  /** The router's gRPC address, {@code host:port}. */
  String routerGrpc() {
    return router.readyFields().get("grpc");
  }

  /** The router's OpenAI HTTP address, {@code host:port}. */
  String routerHttp() {
    String http = router.readyFields().get("http");
    if (http == null) {
      throw new IllegalStateException("the router's ready line names no http= address: " + router.readyFields());
    }
    return http;
  }

  /** The router's Prometheus {@code /metrics} address, {@code host:port}. */
  String routerMetrics() {
    return router.readyFields().get("metrics");
  }

  ChildJvm router() {
    return router;
  }

  ChildJvm worker(String id) {
    ChildJvm w = workers.get(id);
    if (w == null) {
      throw new IllegalArgumentException("worker: " + id + " (expected one of " + workers.keySet() + ")");
    }
    return w;
  }

  /** A worker's gRPC address, which is also the id the router reports it under in {@code served_by}. */
  String grpc(String workerId) {
    return worker(workerId).readyFields().get("grpc");
  }

  /** A client of the router, shared by the tests of this cluster; closed with it. */
  DisaggClient client() {
    return client;
  }

  /** A plaintext channel to {@code address}, cached and closed with the cluster. */
  ManagedChannel channel(String address) {
    return channels.computeIfAbsent(address, a -> ManagedChannelBuilder.forTarget(a).usePlaintext().build());
  }

  /** The one API key the router accepts (as {@code Authorization: Bearer KEY}, on gRPC and HTTP). */
  String apiKey() {
    return apiKey;
  }

  /** A raw stub of the router that sends the API key. */
  RouterGrpc.RouterBlockingStub routerStub() {
    Metadata headers = new Metadata();
    headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + apiKey);
    return RouterGrpc.newBlockingStub(channel(routerGrpc()))
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  /** A raw stub of the router that sends no API key. */
  RouterGrpc.RouterBlockingStub anonymousRouterStub() {
    return RouterGrpc.newBlockingStub(channel(routerGrpc())).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  /** The decode worker's own Health answer, over gRPC. */
  WorkerHealth decodeHealth(String workerId) {
    return DecodeWorkerGrpc.newBlockingStub(channel(grpc(workerId))).withDeadlineAfter(5, TimeUnit.SECONDS)
        .health(HealthRequest.getDefaultInstance());
  }

  WorkerHealth prefillHealth(String workerId) {
    return PrefillWorkerGrpc.newBlockingStub(channel(grpc(workerId))).withDeadlineAfter(5, TimeUnit.SECONDS)
        .health(HealthRequest.getDefaultInstance());
  }

  /** Crashes a worker (SIGKILL) and waits until its process is gone. */
  void kill(String workerId) {
    worker(workerId).kill();
  }

  /**
   * Polls {@code condition} every 20 ms until it holds or {@code timeout} passes.
   *
   * @return whether it held in time
   */
  static boolean await(Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      if (condition.getAsBoolean()) {
        return true;
      }
      if (System.nanoTime() - deadline > 0) {
        return false;
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  @Override
  public void close() {
    if (client != null) {
      client.close();
    }
    channels.values().forEach(ManagedChannel::shutdownNow);
    // Stop all at once (each drains for at most its --drain-timeout-ms), then wait for each.
    List<ChildJvm> all = new ArrayList<>();
    if (router != null) {
      all.add(router);
    }
    all.addAll(workers.values());
    all.forEach(ChildJvm::terminate);
    all.forEach(ChildJvm::close);
    List<String> leaks = all.stream().flatMap(p -> p.leakReports().stream().map(l -> p.name() + ": " + l)).toList();
    if (!leaks.isEmpty()) {
      // the processes run with -Dio.netty.leakDetection.level=paranoid, inherited from the test JVM
      throw new IllegalStateException("Netty reported leaked buffers:\n" + String.join("\n", leaks));
    }
  }
}
