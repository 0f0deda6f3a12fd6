package io.disagg.prefill;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.decode.DecodeWorkerServer;
import io.disagg.decode.testing.PrometheusText;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class PrefillWorkerMetricsTest {
  /** Every family docs/operations.md ("Worker metrics") documents for a worker, with its Prometheus type. */
  private static final Map<String, String> WORKER_FAMILIES = Map.ofEntries(
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

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  private ManagedChannel channel(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    closeables.add(() -> channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return channel;
  }

  @Test
  void disaggregatedRequest_scrapeIsWellFormedWithEveryDocumentedMeterAndTokensCounted() throws Exception {
    PrometheusMeterRegistry decodeRegistry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    DecodeWorkerServer d = closeLater(DecodeWorkerServer.builder(SimulatedBackend.create())
        .kvSecret(SimulatedBackend.KV_SECRET).meterRegistry(decodeRegistry).metricsPort(0).build().start());
    PrefillWorkerServer p = closeLater(PrefillWorkerServer.builder(SimulatedBackend.create())
        .kvSecret(SimulatedBackend.KV_SECRET).workerId("p-metrics")
        .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).metricsPort(0).build().start());
    ManagedChannel dc = channel(d.grpcPort());
    int[] prompt = IntStream.range(0, 23).map(i -> i == 0 ? SimulatedBackend.BOS : 2 + (i * 13) % 62).toArray();
    PrometheusText before = PrometheusText.scrape(p.metricsAddress());

    StreamResult result = DisaggregatedServingTest.disaggregate(PrefillWorkerGrpc.newBlockingStub(
        channel(p.grpcPort())), DecodeWorkerGrpc.newBlockingStub(dc), DecodeWorkerGrpc.newStub(dc), "r1", prompt,
        io.disagg.proto.v1.SamplingParams.getDefaultInstance(), 9).done.get(30, TimeUnit.SECONDS);
    PrometheusText prefill = PrometheusText.scrape(p.metricsAddress());
    PrometheusText decode = PrometheusText.scrape(d.metricsAddress());

    assertThat(p.readyLine()).endsWith(" metrics=" + p.metricsAddress());
    assertThat(result.tokenIds()).hasSize(9);
    assertThat(prefill.types()).containsAllEntriesOf(WORKER_FAMILIES);
    Map<String, String> me = Map.of("worker", "p-metrics", "role", "prefill");
    assertThat(before.value("disagg_worker_tokens_total", Map.of("phase", "prefill"))).isZero();
    assertThat(prefill.value("disagg_worker_tokens_total", Map.of("phase", "prefill"))).isEqualTo(23);
    assertThat(prefill.value("disagg_worker_tokens_total", Map.of("phase", "decode"))).isZero();
    assertThat(prefill.value("disagg_worker_requests_total", Map.of("outcome", "ok"))).isEqualTo(1);
    assertThat(prefill.value("disagg_worker_batch_size_sum", Map.of("phase", "prefill"))).isEqualTo(1);
    assertThat(prefill.value("disagg_worker_batch_tokens_sum", me)).isEqualTo(23);
    assertThat(prefill.value("disagg_worker_step_seconds_count", Map.of("phase", "prefill"))).isEqualTo(1);
    assertThat(prefill.value("disagg_worker_kv_blocks", Map.of("state", "reserved"))).isZero();
    // the first token came from the prefill worker; the decode worker's steps made the other 8
    assertThat(decode.value("disagg_worker_tokens_total", Map.of("phase", "decode"))).isEqualTo(8);
    assertThat(decode.value("disagg_worker_requests_total", Map.of("outcome", "ok"))).isEqualTo(1);
    // kv-transfer's meters share each worker's registry: the sender's in the prefill worker's
    assertThat(prefill.value("disagg_kv_transfer_completed_total", Map.of("side", "send", "transport", "tcp")))
        .isEqualTo(1);
    assertThat(prefill.value("disagg_kv_transfer_bytes_total", Map.of("side", "send"))).isPositive();
    assertThat(prefill.types()).containsKeys("disagg_kv_transfer_started_total", "disagg_kv_transfer_failed_total",
        "disagg_kv_transfer_duration_seconds", "disagg_kv_transfer_throughput_bytes_s");
    assertThat(decode.value("disagg_kv_transfer_completed_total", Map.of("side", "receive"))).isEqualTo(1);
    assertThat(decode.types()).containsKey("disagg_kv_transfer_blocks_reserved");
  }

  @Test
  void invalidRequest_countsAnErrorByStatusCode() throws Exception {
    PrefillWorkerServer p = closeLater(PrefillWorkerServer.builder(SimulatedBackend.create())
        .kvSecret(SimulatedBackend.KV_SECRET)
        .meterRegistry(new PrometheusMeterRegistry(PrometheusConfig.DEFAULT)).metricsPort(0).build().start());

    try {
      PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())).prefill(PrefillRequest.newBuilder()
          .setRequestId("bad").addPromptTokenIds(SimulatedBackend.BOS).build());
    } catch (StatusRuntimeException expected) {
      // no decode_target: refused before it is queued
    }
    PrometheusText after = PrometheusText.scrape(p.metricsAddress());

    assertThat(after.value("disagg_worker_requests_total", Map.of("outcome", "error"))).isEqualTo(1);
    assertThat(after.value("disagg_worker_errors_total", Map.of("code", "INVALID_ARGUMENT"))).isEqualTo(1);
  }
}
