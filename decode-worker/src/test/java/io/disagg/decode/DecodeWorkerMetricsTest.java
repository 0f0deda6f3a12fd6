package io.disagg.decode;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.decode.testing.PrometheusText;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.ReserveKvRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DecodeWorkerMetricsTest {
  /** Every family docs/operations.md ("Worker metrics") documents for a worker, with its Prometheus type. */
  static final Map<String, String> WORKER_FAMILIES = Map.ofEntries(
      Map.entry("disagg_worker_queue_depth", "gauge"),
      Map.entry("disagg_worker_tokens_in_flight", "gauge"),
      Map.entry("disagg_worker_running_sequences", "gauge"),
      Map.entry("disagg_worker_batch_size", "histogram"),
      Map.entry("disagg_worker_batch_size_max", "gauge"),
      Map.entry("disagg_worker_batch_tokens", "histogram"),
      Map.entry("disagg_worker_batch_tokens_max", "gauge"),
      Map.entry("disagg_worker_kv_blocks", "gauge"),
      Map.entry("disagg_worker_tokens_total", "counter"),
      Map.entry("disagg_worker_requests_total", "counter"),
      Map.entry("disagg_worker_errors_total", "counter"),
      Map.entry("disagg_worker_step_seconds", "histogram"),
      Map.entry("disagg_worker_step_seconds_max", "gauge"),
      Map.entry("disagg_worker_prefix_cache_hit_ratio", "gauge"));

  private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private DecodeWorkerServer server;
  private ManagedChannel channel;

  @AfterEach
  void tearDown() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
  }

  private void start() {
    server = DecodeWorkerServer.builder(SimulatedBackend.create()).kvSecret(SimulatedBackend.KV_SECRET)
        .workerId("d-metrics").meterRegistry(registry).metricsPort(0).build().start();
    channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
  }

  private static int[] prompt(int length) {
    return IntStream.range(0, length).map(i -> i == 0 ? SimulatedBackend.BOS : 2 + (i * 13) % 62).toArray();
  }

  @Test
  void metricsPort_readyLineNamesTheEndpointLast() {
    start();

    assertThat(server.readyLine()).isEqualTo("disagg decode-worker ready: grpc=" + server.grpcAddress()
        + " kv=" + server.kvAddress() + " metrics=" + server.metricsAddress());
    assertThat(server.metricsAddress()).matches("127\\.0\\.0\\.1:\\d+");
  }

  @Test
  void colocatedRequest_scrapeIsWellFormedWithEveryDocumentedMeterAndTokensCounted() throws Exception {
    start();
    PrometheusText before = PrometheusText.scrape(server.metricsAddress());
    int[] prompt = prompt(21);

    StreamResult result = new StreamResult();
    DecodeWorkerGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId("m1").addAllPromptTokenIds(IntStream.of(prompt).boxed().toList()).setMaxTokens(12).build(),
        result);
    StreamResult done = result.done.get(30, TimeUnit.SECONDS);
    // a reservation the worker holds until a cache arrives: reported apart from used blocks
    int reserved = DecodeWorkerGrpc.newBlockingStub(channel).reserveKv(ReserveKvRequest.newBuilder()
        .setRequestId("m2").setPromptTokens(10).setMaxNewTokens(6).build()).getReservedBlocks();
    PrometheusText after = PrometheusText.scrape(server.metricsAddress());

    assertThat(done.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(after.types()).containsAllEntriesOf(WORKER_FAMILIES);
    Map<String, String> me = Map.of("worker", "d-metrics", "role", "decode");
    assertThat(before.value("disagg_worker_tokens_total", Map.of("phase", "decode"))).isZero();
    // 12 tokens: the first sampled by the colocated prefill, 11 by decode steps
    assertThat(after.value("disagg_worker_tokens_total", Map.of("phase", "decode"))).isEqualTo(11);
    assertThat(after.value("disagg_worker_tokens_total", Map.of("phase", "prefill"))).isEqualTo(21);
    assertThat(after.value("disagg_worker_requests_total", Map.of("outcome", "ok"))).isEqualTo(1);
    assertThat(after.value("disagg_worker_requests_total", Map.of("outcome", "error"))).isZero();
    assertThat(after.value("disagg_worker_batch_tokens_count", me)).isEqualTo(1);
    assertThat(after.value("disagg_worker_batch_size_count", Map.of("phase", "decode"))).isEqualTo(11);
    assertThat(after.value("disagg_worker_step_seconds_count", Map.of("phase", "decode"))).isEqualTo(11);
    assertThat(after.value("disagg_worker_kv_blocks", Map.of("state", "reserved"))).isEqualTo(reserved);
    assertThat(server.health().getReservedKvBlocks()).as("Health reports the same reservation").isEqualTo(reserved);
    assertThat(after.value("disagg_worker_kv_blocks", Map.of("state", "free"))
        + after.value("disagg_worker_kv_blocks", Map.of("state", "used"))
        + after.value("disagg_worker_kv_blocks", Map.of("state", "reserved")))
        .isEqualTo(server.health().getTotalKvBlocks());
    assertThat(after.value("disagg_worker_prefix_cache_hit_ratio", me)).isZero();
    assertThat(after.value("disagg_worker_queue_depth", me)).isZero();
    assertThat(after.has("disagg_kv_transfer_blocks_reserved")).as("kv-transfer meters in the same registry")
        .isTrue();
  }

  @Test
  void rejectedRequest_countsAnErrorByStatusCode() throws Exception {
    start();

    StreamResult result = new StreamResult();
    DecodeWorkerGrpc.newStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId("bad").addAllPromptTokenIds(IntStream.of(prompt(4)).boxed().toList())
        .setReservationId("no-such-reservation").build(), result);
    result.done.handle((r, e) -> null).get(30, TimeUnit.SECONDS);
    PrometheusText after = PrometheusText.scrape(server.metricsAddress());

    assertThat(after.value("disagg_worker_requests_total", Map.of("outcome", "error"))).isEqualTo(1);
    assertThat(after.value("disagg_worker_errors_total", Map.of("code", "INVALID_ARGUMENT"))).isEqualTo(1);
    assertThat(after.value("disagg_worker_requests_total", Map.of("outcome", "ok"))).isZero();
  }

  @Test
  void close_removesTheWorkersMetersFromTheRegistry() {
    start();
    server.close();

    assertThat(registry.getMeters()).noneMatch(m -> m.getId().getName().startsWith("disagg.worker."));
  }
}
