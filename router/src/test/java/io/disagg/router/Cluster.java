package io.disagg.router;

import io.disagg.openai.OpenAiHttpServer;
import io.disagg.proto.v1.RouterGrpc;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A router in front of simulated workers, all on loopback ports chosen at run time. Health polling is manual
 * ({@link #poll()}), so tests decide when the router learns about a worker.
 */
final class Cluster implements AutoCloseable {
  final List<SimulatedPrefillWorker> prefill = new ArrayList<>();
  final List<SimulatedDecodeWorker> decode = new ArrayList<>();
  final ManualTicker ticker = new ManualTicker();
  final RouterService router;
  final RouterServer server;
  final ManagedChannel channel;

  /** The OpenAI HTTP server on an ephemeral port, when the cluster was built with one. */
  final OpenAiHttpServer http;

  Cluster(int prefillWorkers, int decodeWorkers, Consumer<RouterService.Builder> configure) {
    this(prefillWorkers, decodeWorkers, configure, List.of(), false);
  }

  /**
   * @param apiKeys keys both ports require (empty: open)
   * @param withHttp also serve the OpenAI HTTP API, as {@code RouterMain} does with {@code --http-port 0}
   */
  Cluster(int prefillWorkers, int decodeWorkers, Consumer<RouterService.Builder> configure, List<String> apiKeys,
      boolean withHttp) {
    RouterService.Builder builder = RouterService.builder()
        .model(SimulatedModel.served())
        .disaggregateThreshold(16)
        .ticker(ticker)
        .healthInterval(Duration.ZERO)
        .healthTimeout(Duration.ofSeconds(3))
        .requestTimeout(Duration.ofSeconds(30));
    for (int i = 0; i < prefillWorkers; i++) {
      SimulatedPrefillWorker p = SimulatedPrefillWorker.start("p" + i);
      prefill.add(p);
      builder.prefillWorker(p.address());
    }
    for (int i = 0; i < decodeWorkers; i++) {
      SimulatedDecodeWorker d = SimulatedDecodeWorker.start("d" + i);
      decode.add(d);
      builder.decodeWorker(d.address());
    }
    configure.accept(builder);
    router = builder.build();
    poll();
    server = RouterServer.start(router, "127.0.0.1", 0, apiKeys);
    http = withHttp ? router.openAiHttpServer().host("127.0.0.1").port(0).apiKeys(apiKeys).build().start() : null;
    channel = Grpc.newChannelBuilder("127.0.0.1:" + server.port(), InsecureChannelCredentials.create()).build();
  }

  Cluster(int prefillWorkers, int decodeWorkers) {
    this(prefillWorkers, decodeWorkers, b -> {});
  }

  void poll() {
    router.pollHealth().join();
  }

  RouterGrpc.RouterBlockingStub blocking() {
    return RouterGrpc.newBlockingStub(channel).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  RouterGrpc.RouterStub async() {
    return RouterGrpc.newStub(channel);
  }

  WorkerSnapshot worker(String address) {
    return router.workers().stream().filter(w -> w.address().equals(address)).findFirst().orElseThrow();
  }

  @Override
  public void close() {
    channel.shutdownNow();
    try {
      channel.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (http != null) {
      http.close();
    }
    server.close();
    router.close();
    for (SimulatedPrefillWorker p : prefill) {
      p.close();
    }
    for (SimulatedDecodeWorker d : decode) {
      d.close();
    }
  }
}
