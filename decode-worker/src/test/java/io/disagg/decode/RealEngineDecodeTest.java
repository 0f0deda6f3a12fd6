package io.disagg.decode;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.decode.testing.GatedBackend;
import io.disagg.decode.testing.RealModel;
import io.disagg.decode.testing.Reference;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.HealthRequest;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The decode worker on the real engine and the stories260K model. */
class RealEngineDecodeTest {
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private DecodeWorkerServer start(Backend backend) {
    DecodeWorkerServer s = DecodeWorkerServer.builder(backend).kvSecret(SimulatedBackend.KV_SECRET)
        .maxBatchSize(16).build().start();
    closeables.add(s);
    return s;
  }

  private ManagedChannel channel(DecodeWorkerServer s) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", s.grpcPort()).usePlaintext().build();
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  private static StreamResult decode(DecodeWorkerGrpc.DecodeWorkerStub stub, String id, int[] prompt, int max) {
    StreamResult r = new StreamResult();
    stub.withDeadlineAfter(60, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId(id).addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList()).setMaxTokens(max).build(), r);
    return r;
  }

  @Test
  void colocatedGreedy_onStories260K_matchesBackendDrivenDirectly() throws Exception {
    int[] prompt = RealModel.prompt(1, 12);
    List<Integer> expected;
    try (Backend direct = RealModel.open(256)) {
      expected = Reference.generate(direct, prompt, SamplingParams.greedy(), 48);
    }
    DecodeWorkerServer server = start(RealModel.open(256));

    StreamResult r = decode(DecodeWorkerGrpc.newStub(channel(server)), "real-1", prompt, 48)
        .done.get(60, TimeUnit.SECONDS);

    assertThat(r.tokenIds()).isNotEmpty().isEqualTo(expected);
    assertThat(r.earlyFinishes()).isZero();
    try (Backend direct = RealModel.open(16)) {
      int[] generated = expected.stream().mapToInt(Integer::intValue).toArray();
      int[] all = new int[prompt.length + generated.length];
      System.arraycopy(prompt, 0, all, 0, prompt.length);
      System.arraycopy(generated, 0, all, prompt.length, generated.length);
      // the streamed text deltas add up to the decoding of the generated tokens after the prompt
      String whole = direct.tokenizer().decode(all);
      String promptText = direct.tokenizer().decode(prompt);
      assertThat(promptText + r.text()).isEqualTo(whole);
    }
  }

  @Test
  void thirtyTwoConcurrentMixedLengthDecodes_onStories260K_eachEqualsItsSingleRequestOutput() throws Exception {
    int n = 32;
    List<int[]> prompts = new ArrayList<>();
    List<Integer> maxTokens = new ArrayList<>();
    List<List<Integer>> expected = new ArrayList<>();
    try (Backend direct = RealModel.open(512)) {
      for (int i = 0; i < n; i++) {
        prompts.add(RealModel.prompt(i, 2 + (i * 7) % 60));
        maxTokens.add(4 + (i * 13) % 90);
        expected.add(Reference.generate(direct, prompts.get(i), SamplingParams.greedy(), maxTokens.get(i)));
      }
    }
    DecodeWorkerServer server = start(RealModel.open(1024));
    DecodeWorkerGrpc.DecodeWorkerStub stub = DecodeWorkerGrpc.newStub(channel(server));

    List<StreamResult> results = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      results.add(decode(stub, "c" + i, prompts.get(i), maxTokens.get(i)));
    }
    for (int i = 0; i < n; i++) {
      StreamResult r = results.get(i).done.get(120, TimeUnit.SECONDS);
      assertThat(r.tokenIds()).as("request %d", i).isEqualTo(expected.get(i));
      assertThat(r.finishReason()).isIn(FinishReason.FINISH_REASON_LENGTH, FinishReason.FINISH_REASON_STOP);
    }
  }

  @Test
  void cancelMidStream_onStories260K_returnsFreeBlocksToWhereTheyWere() throws Exception {
    GatedBackend gated = new GatedBackend(RealModel.open(256));
    DecodeWorkerServer server = start(gated);
    ManagedChannel channel = channel(server);
    var health = DecodeWorkerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
    int before = health.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks();
    gated.allowSteps(5);

    Context.CancellableContext ctx = Context.current().withCancellation();
    StreamResult r = ctx.call(() -> decode(DecodeWorkerGrpc.newStub(channel), "cancel", RealModel.prompt(3, 40), 1000));
    assertThat(gated.awaitBlocked(30, TimeUnit.SECONDS)).isTrue();
    assertThat(health.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks()).isLessThan(before);
    ctx.cancel(null);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.stats().streamsCancelled() == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // until the server saw the cancellation (the client knows at once)
    }
    assertThat(server.stats().streamsCancelled()).isEqualTo(1);
    gated.open();

    assertThat(DecodeWorkerServerTest.awaitFreeBlocks(health, before)).isEqualTo(before);
    assertThat(server.stats().tokensGenerated()).isLessThan(10); // it asked for 1000
    assertThat(health.health(HealthRequest.getDefaultInstance()).getRunningSequences()).isZero();
  }
}
