package io.disagg.prefill;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.KvBlockHashes;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.decode.DecodeWorkerServer;
import io.disagg.decode.testing.RealModel;
import io.disagg.decode.testing.Reference;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.PrefixCacheDigest;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Prefill worker → kv-transfer → decode worker on the real engine and stories260K. */
class RealEngineDisaggregatedTest {
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private ManagedChannel channel(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  @Test
  void disaggregatedGreedy_onStories260K_equalsColocatedAndMovesTransferCounters() throws Exception {
    int[] prompt = RealModel.prompt(5, 70);
    List<Integer> expected;
    try (Backend direct = RealModel.open(256)) {
      expected = Reference.generate(direct, prompt, SamplingParams.greedy(), 40);
    }
    DecodeWorkerServer d = DecodeWorkerServer.builder(RealModel.open(256)).kvSecret(SimulatedBackend.KV_SECRET)
        .build().start();
    closeables.add(d);
    PrefillWorkerServer p = PrefillWorkerServer.builder(RealModel.open(256)).kvSecret(SimulatedBackend.KV_SECRET)
        .build().start();
    closeables.add(p);
    ManagedChannel dc = channel(d.grpcPort());
    var greedy = io.disagg.proto.v1.SamplingParams.getDefaultInstance();

    StreamResult disagg = DisaggregatedServingTest.disaggregate(
        PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())).withDeadlineAfter(60, TimeUnit.SECONDS),
        DecodeWorkerGrpc.newBlockingStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS), DecodeWorkerGrpc.newStub(dc),
        "real-d", prompt, greedy, 40).done.get(60, TimeUnit.SECONDS);
    StreamResult colo = new StreamResult();
    DecodeWorkerGrpc.newStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS).decode(io.disagg.proto.v1.DecodeRequest
        .newBuilder().setRequestId("real-c").addAllPromptTokenIds(java.util.Arrays.stream(prompt).boxed().toList())
        .setMaxTokens(40).build(), colo);
    colo.done.get(60, TimeUnit.SECONDS);

    assertThat(disagg.tokenIds()).isNotEmpty().isEqualTo(expected).isEqualTo(colo.tokenIds());
    assertThat(disagg.text()).isEqualTo(colo.text());
    var layout = d.health();
    // 70 prompt tokens in blocks of 16: 5 blocks, each holding 16 positions of K and V for every layer
    assertThat(d.stats().transfersCompleted()).isEqualTo(1);
    assertThat(d.stats().transferBytes()).isEqualTo(5L * 16 * layout.getKvBytesPerToken());
    assertThat(d.stats().imports()).isEqualTo(1);
    assertThat(p.stats().transferBytes()).isEqualTo(d.stats().transferBytes());
  }

  @Test
  void disaggregatedSeededSampling_onStories260K_equalsColocated() throws Exception {
    DecodeWorkerServer d = DecodeWorkerServer.builder(RealModel.open(256)).kvSecret(SimulatedBackend.KV_SECRET)
        .build().start();
    closeables.add(d);
    PrefillWorkerServer p = PrefillWorkerServer.builder(RealModel.open(256)).kvSecret(SimulatedBackend.KV_SECRET)
        .build().start();
    closeables.add(p);
    ManagedChannel dc = channel(d.grpcPort());
    var seeded = io.disagg.proto.v1.SamplingParams.newBuilder()
        .setTemperature(0.9f).setTopP(0.95f).setSeed(1234).setHasSeed(true).build();
    int[] prompt = RealModel.prompt(11, 33);

    StreamResult disagg = DisaggregatedServingTest.disaggregate(
        PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())).withDeadlineAfter(60, TimeUnit.SECONDS),
        DecodeWorkerGrpc.newBlockingStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS), DecodeWorkerGrpc.newStub(dc),
        "seeded-d", prompt, seeded, 30).done.get(60, TimeUnit.SECONDS);
    StreamResult colo = new StreamResult();
    DecodeWorkerGrpc.newStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS).decode(io.disagg.proto.v1.DecodeRequest
        .newBuilder().setRequestId("seeded-c").addAllPromptTokenIds(java.util.Arrays.stream(prompt).boxed().toList())
        .setSampling(seeded).setMaxTokens(30).build(), colo);
    colo.done.get(60, TimeUnit.SECONDS);

    assertThat(disagg.tokenIds()).isNotEmpty().isEqualTo(colo.tokenIds());
  }

  private static HealthRequest knowing(long version) {
    return HealthRequest.newBuilder().setKnownPrefixCacheVersion(version).build();
  }

  private static List<Long> hashes(long[] chain) {
    return Arrays.stream(chain).boxed().toList();
  }

  @Test
  void prefixCache_onBothWorkers_reusesARepeatedPromptAndListsItInHealth() throws Exception {
    DecodeWorkerServer d = DecodeWorkerServer.builder(RealModel.open(256)).kvSecret(SimulatedBackend.KV_SECRET)
        .build().start();
    closeables.add(d);
    PrefillWorkerServer p = PrefillWorkerServer.builder(RealModel.open(256)).kvSecret(SimulatedBackend.KV_SECRET)
        .build().start();
    closeables.add(p);
    ManagedChannel dc = channel(d.grpcPort());
    var prefill = PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())).withDeadlineAfter(60, TimeUnit.SECONDS);
    var decodeBlocking = DecodeWorkerGrpc.newBlockingStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS);
    var greedy = io.disagg.proto.v1.SamplingParams.getDefaultInstance();
    int[] prompt = RealModel.prompt(7, 70);
    // 70 tokens in blocks of 16: 4 full blocks, and at most those are reused (the last token is always computed)
    List<Long> promptBlocks = hashes(KvBlockHashes.chain(prompt, 16, 4));
    PrefixCacheDigest empty = prefill.health(knowing(0)).getPrefixCache();
    assertThat(empty.getVersion()).isPositive();
    assertThat(empty.getBlockHashesList()).isEmpty();

    DisaggregatedServingTest.disaggregate(prefill, decodeBlocking, DecodeWorkerGrpc.newStub(dc), "first", prompt,
        greedy, 8).done.get(60, TimeUnit.SECONDS);

    // The prefill worker closed its sequence once the push settled, before answering Prefill.
    PrefixCacheDigest prefilled = prefill.health(knowing(empty.getVersion())).getPrefixCache();
    assertThat(prefilled.getIncluded()).isTrue();
    assertThat(prefilled.getVersion()).isGreaterThan(empty.getVersion());
    assertThat(prefilled.getBlockHashesList()).containsExactlyElementsOf(promptBlocks);
    PrefixCacheDigest unchanged = prefill.health(knowing(prefilled.getVersion())).getPrefixCache();
    assertThat(unchanged.getIncluded()).isFalse();
    assertThat(unchanged.getVersion()).isEqualTo(prefilled.getVersion());
    assertThat(unchanged.getBlockHashesList()).isEmpty();

    // The decode worker cached the imported sequence: a colocated request for the same prompt reuses it.
    StreamResult colocated = new StreamResult();
    DecodeWorkerGrpc.newStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId("again-colocated").addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList())
        .setMaxTokens(8).build(), colocated);
    colocated.done.get(60, TimeUnit.SECONDS);
    assertThat(colocated.chunks.getFirst().getCachedPromptTokens()).isEqualTo(64);
    assertThat(decodeBlocking.health(knowing(0)).getPrefixCache().getBlockHashesList())
        .containsExactlyElementsOf(promptBlocks);

    // And the prefill worker reuses its own copy.
    ReserveKvResponse reservation = decodeBlocking.reserveKv(ReserveKvRequest.newBuilder()
        .setRequestId("again-disaggregated").setPromptTokens(prompt.length).setMaxNewTokens(8).build());
    PrefillResponse again = prefill.prefill(PrefillRequest.newBuilder().setRequestId("again-disaggregated")
        .addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList()).setSampling(greedy)
        .setDecodeTarget(reservation.getKvAddress()).setReservationId(reservation.getReservationId()).build());
    assertThat(again.getCachedPromptTokens()).isEqualTo(64);
    StreamResult rest = new StreamResult();
    DecodeWorkerGrpc.newStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId("again-disaggregated").addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList())
        .setMaxTokens(8).setReservationId(reservation.getReservationId()).setFirstToken(again.getFirstToken())
        .build(), rest);
    assertThat(rest.done.get(60, TimeUnit.SECONDS).tokenIds()).isEqualTo(colocated.tokenIds());

    // Cached blocks no sequence uses count as free: any reservation evicts them.
    assertThat(p.health().getFreeKvBlocks()).isEqualTo(p.health().getTotalKvBlocks());
  }
}
