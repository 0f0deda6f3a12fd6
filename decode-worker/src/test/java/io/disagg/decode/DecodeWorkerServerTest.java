package io.disagg.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.SamplingParams;
import io.disagg.decode.testing.GatedBackend;
import io.disagg.decode.testing.MutableClock;
import io.disagg.decode.testing.Reference;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.ReleaseKvRequest;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class DecodeWorkerServerTest {
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private DecodeWorkerServer start(DecodeWorkerServer.Builder builder) {
    DecodeWorkerServer server = builder.kvSecret(SimulatedBackend.KV_SECRET)
        .meterRegistry(new io.micrometer.core.instrument.simple.SimpleMeterRegistry()).build().start();
    closeables.add(server);
    return server;
  }

  private DecodeWorkerGrpc.DecodeWorkerStub stub(DecodeWorkerServer server) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return DecodeWorkerGrpc.newStub(channel);
  }

  private DecodeWorkerGrpc.DecodeWorkerBlockingStub blocking(DecodeWorkerServer server) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", server.grpcPort()).usePlaintext().build();
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return DecodeWorkerGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static DecodeRequest colocated(String id, int[] prompt, int maxTokens, String... stop) {
    return DecodeRequest.newBuilder()
        .setRequestId(id)
        .addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList())
        .setMaxTokens(maxTokens)
        .addAllStop(List.of(stop))
        .build();
  }

  private static StreamResult decode(DecodeWorkerGrpc.DecodeWorkerStub stub, DecodeRequest request) {
    StreamResult result = new StreamResult();
    stub.withDeadlineAfter(30, TimeUnit.SECONDS).decode(request, result);
    return result;
  }

  private static int[] prompt(int seed, int length) {
    return IntStream.range(0, length).map(i -> i == 0 ? SimulatedBackend.BOS : 2 + (seed * 7 + i * 13) % 62)
        .toArray();
  }

  @Test
  void decode_colocatedGreedy_matchesBackendDrivenDirectly() throws Exception {
    int[] prompt = prompt(1, 9);
    List<Integer> expected;
    try (SimulatedBackend direct = SimulatedBackend.create()) {
      expected = Reference.generate(direct, prompt, SamplingParams.greedy(), 20);
    }
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(SimulatedBackend.create()));

    StreamResult result = decode(stub(server), colocated("r1", prompt, 20)).done.get(30, TimeUnit.SECONDS);

    assertThat(expected).hasSize(20);
    assertThat(result.tokenIds()).isEqualTo(expected);
    assertThat(result.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(result.earlyFinishes()).isZero();
    assertThat(result.text()).isEqualTo(
        expected.stream().map(t -> " w" + t).reduce("", String::concat));
    assertThat(result.chunks.getFirst().getQueuedUs()).isGreaterThanOrEqualTo(0);
    assertThat(server.stats().colocatedPrefills()).isEqualTo(1);
  }

  @Test
  void decode_32ConcurrentMixedLengths_eachEqualsItsSingleRequestOutput() throws Exception {
    int n = 32;
    List<int[]> prompts = new ArrayList<>();
    List<List<Integer>> expected = new ArrayList<>();
    try (SimulatedBackend direct = new SimulatedBackend(1024, 4, 256, 0)) {
      for (int i = 0; i < n; i++) {
        prompts.add(prompt(i, 3 + (i * 5) % 40));
        expected.add(Reference.generate(direct, prompts.get(i), SamplingParams.greedy(), 5 + (i * 11) % 60));
      }
    }
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(1024, 4, 256, 0))
        .maxBatchSize(16)
        .maxBatchTokens(128));
    DecodeWorkerGrpc.DecodeWorkerStub stub = stub(server);
    int freeBefore = server.health().getFreeKvBlocks();

    List<StreamResult> results = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      results.add(decode(stub, colocated("r" + i, prompts.get(i), 5 + (i * 11) % 60)));
    }
    for (int i = 0; i < n; i++) {
      StreamResult r = results.get(i).done.get(60, TimeUnit.SECONDS);
      assertThat(r.tokenIds()).as("request %d", i).isEqualTo(expected.get(i));
      assertThat(r.earlyFinishes()).isZero();
    }
    assertThat(server.stats().tokensGenerated()).isEqualTo(expected.stream().mapToInt(List::size).sum());
    assertThat(awaitFreeBlocks(blocking(server), freeBefore)).isEqualTo(freeBefore);
  }

  @Test
  void decode_endOfGeneration_finishesWithStopAndNoEosToken() throws Exception {
    int[] prompt = prompt(3, 6);
    List<Integer> expected;
    try (SimulatedBackend direct = new SimulatedBackend(256, 4, 256, 7)) {
      expected = Reference.generate(direct, prompt, SamplingParams.greedy(), 200);
    }
    assertThat(expected).hasSizeLessThan(200); // the simulator emitted EOS
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(256, 4, 256, 7)));

    StreamResult result = decode(stub(server), colocated("eos", prompt, 200)).done.get(30, TimeUnit.SECONDS);

    assertThat(result.tokenIds()).isEqualTo(expected).doesNotContain(SimulatedBackend.EOS);
    assertThat(result.finishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
  }

  @Test
  void decode_stopString_endsStreamWithoutReturningIt() throws Exception {
    int[] prompt = prompt(4, 5);
    List<Integer> full;
    try (SimulatedBackend direct = SimulatedBackend.create()) {
      full = Reference.generate(direct, prompt, SamplingParams.greedy(), 30);
    }
    // stop on the text of the 6th token, written as two halves so it spans the token boundary check
    String stop = " w" + full.get(5);
    int first = full.indexOf(full.get(5));
    String expectedText = full.subList(0, first).stream().map(t -> " w" + t).reduce("", String::concat);
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(SimulatedBackend.create()));

    StreamResult result = decode(stub(server), colocated("stop", prompt, 30, stop)).done.get(30, TimeUnit.SECONDS);

    assertThat(result.finishReason()).isEqualTo(FinishReason.FINISH_REASON_STOP);
    assertThat(result.text()).isEqualTo(expectedText);
    assertThat(result.tokenIds()).isEqualTo(full.subList(0, first + 1));
  }

  @Test
  void decode_clientCancelsMidStream_freesKvBlocks() throws Exception {
    GatedBackend gated = new GatedBackend(SimulatedBackend.create());
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(gated));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub health = blocking(server);
    int freeBefore = health.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks();
    gated.allowSteps(3);

    Context.CancellableContext ctx = Context.current().withCancellation();
    StreamResult result = new StreamResult();
    DecodeWorkerGrpc.DecodeWorkerStub stub = stub(server);
    ctx.run(() -> stub.decode(colocated("cancel-me", prompt(5, 10), 200), result));
    assertThat(gated.awaitBlocked(30, TimeUnit.SECONDS)).isTrue();
    WorkerHealth during = health.health(HealthRequest.getDefaultInstance());
    assertThat(during.getFreeKvBlocks()).isLessThan(freeBefore);
    assertThat(during.getRunningSequences()).isEqualTo(1);

    ctx.cancel(null);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.stats().streamsCancelled() == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // until the server saw the cancellation (the client knows at once)
    }
    assertThat(server.stats().streamsCancelled()).isEqualTo(1);
    gated.open();

    assertThat(awaitFreeBlocks(health, freeBefore)).isEqualTo(freeBefore);
    // the held step finished, then the sequence was dropped: nowhere near the 200 tokens it asked for
    assertThat(server.stats().tokensGenerated()).isLessThan(10);
    assertThatThrownBy(() -> result.done.get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(StatusRuntimeException.class);
    assertThat(result.tokenIds()).hasSizeLessThan(200);
  }

  @Test
  void decode_cancelledWhileItsCacheIsStillInFlight_releasesTheReservation() throws Exception {
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(16, 4, 256, 0)));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub stub = blocking(server);
    ReserveKvResponse r = stub.reserveKv(reserve("never-arrives", 8, 8));
    assertThat(stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks()).isEqualTo(12);

    Context.CancellableContext ctx = Context.current().withCancellation();
    StreamResult result = ctx.call(() -> decode(stub(server), DecodeRequest.newBuilder()
        .setRequestId("never-arrives").addAllPromptTokenIds(List.of(0, 2, 3, 4, 5, 6, 7, 8)).setMaxTokens(8)
        .setReservationId(r.getReservationId())
        .setFirstToken(io.disagg.proto.v1.GeneratedToken.newBuilder().setTokenId(3))
        .build()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (server.stats().decodesAwaitingKv() == 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // until the Decode reached the server and claimed its reservation
    }
    assertThat(server.stats().decodesAwaitingKv()).isEqualTo(1);
    ctx.cancel(null);

    assertThat(codeOf(result)).isEqualTo(Status.Code.CANCELLED);
    assertThat(awaitFreeBlocks(stub, 16)).isEqualTo(16);
    assertThat(server.stats().reservationsPending()).isZero();
  }

  @Test
  void decode_deadlinePassesBeforeTheCacheArrives_isDeadlineExceededAndReleasesTheReservation() {
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(16, 4, 256, 0)));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub stub = blocking(server);
    ReserveKvResponse r = stub.reserveKv(reserve("late", 8, 8));

    StreamResult result = new StreamResult();
    stub(server).withDeadlineAfter(200, TimeUnit.MILLISECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId("late").addAllPromptTokenIds(List.of(0, 2, 3, 4, 5, 6, 7, 8)).setMaxTokens(8)
        .setReservationId(r.getReservationId())
        .setFirstToken(io.disagg.proto.v1.GeneratedToken.newBuilder().setTokenId(3))
        .build(), result);

    assertThat(codeOf(result)).isEqualTo(Status.Code.DEADLINE_EXCEEDED);
    assertThat(awaitFreeBlocks(stub, 16)).isEqualTo(16);
  }

  @Test
  void drain_refusesNewWorkButFinishesRunningStreams() throws Exception {
    GatedBackend gated = new GatedBackend(SimulatedBackend.create());
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(gated));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub stub = blocking(server);
    gated.allowSteps(1);
    StreamResult running = decode(stub(server), colocated("running", prompt(1, 5), 10));
    assertThat(gated.awaitBlocked(30, TimeUnit.SECONDS)).isTrue();

    server.drain();
    gated.open();

    assertThatThrownBy(() -> stub.reserveKv(reserve("new", 4, 4)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
    assertThat(codeOf(decode(stub(server), colocated("new", prompt(2, 5), 10)))).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(running.done.get(30, TimeUnit.SECONDS).tokenIds()).hasSize(10);
    assertThat(server.awaitIdle(Duration.ofSeconds(10))).isTrue();
  }

  @Test
  void decode_colocatedWithoutKvRoomYet_waitsForRunningSequencesInsteadOfFailing() throws Exception {
    // 10 blocks of 4 tokens; each request needs 4 + 20 positions = 6 blocks, so the second must wait for the first
    GatedBackend gated = new GatedBackend(new SimulatedBackend(10, 4, 256, 0));
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(gated));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub health = blocking(server);
    DecodeWorkerGrpc.DecodeWorkerStub stub = stub(server);
    List<List<Integer>> expected = new ArrayList<>();
    try (SimulatedBackend direct = SimulatedBackend.create()) {
      expected.add(Reference.generate(direct, prompt(1, 4), SamplingParams.greedy(), 20));
      expected.add(Reference.generate(direct, prompt(2, 4), SamplingParams.greedy(), 20));
    }
    gated.allowSteps(0);
    StreamResult first = decode(stub, colocated("first", prompt(1, 4), 20));
    assertThat(gated.awaitBlocked(30, TimeUnit.SECONDS)).isTrue();
    StreamResult second = decode(stub, colocated("second", prompt(2, 4), 20));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (health.health(HealthRequest.getDefaultInstance()).getQueueDepth() < 1 && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // until the second request waits for admission
    }
    assertThat(health.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks()).isEqualTo(4);

    gated.open();

    assertThat(first.done.get(30, TimeUnit.SECONDS).tokenIds()).isEqualTo(expected.get(0));
    assertThat(second.done.get(30, TimeUnit.SECONDS).tokenIds()).isEqualTo(expected.get(1));
  }

  @Test
  void decode_queueFull_isResourceExhausted() throws Exception {
    GatedBackend gated = new GatedBackend(SimulatedBackend.create());
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(gated).queueCapacity(1));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub health = blocking(server);
    DecodeWorkerGrpc.DecodeWorkerStub stub = stub(server);
    gated.allowSteps(0);
    StreamResult first = decode(stub, colocated("first", prompt(1, 5), 4));
    assertThat(gated.awaitBlocked(30, TimeUnit.SECONDS)).isTrue(); // running, engine held in its step
    StreamResult second = decode(stub, colocated("second", prompt(2, 5), 4));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (health.health(HealthRequest.getDefaultInstance()).getQueueDepth() < 1 && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // until the second request is queued
    }

    StreamResult third = decode(stub, colocated("third", prompt(3, 5), 4));

    assertThat(codeOf(third)).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    gated.open();
    assertThat(first.done.get(30, TimeUnit.SECONDS).tokenIds()).hasSize(4);
    assertThat(second.done.get(30, TimeUnit.SECONDS).tokenIds()).hasSize(4);
  }

  @Test
  void reserveKv_withoutRoom_isResourceExhausted() {
    // 16 blocks of 4 tokens: room for 64 positions
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(16, 4, 256, 0)));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub stub = blocking(server);

    ReserveKvResponse first = stub.reserveKv(reserve("a", 30, 20));
    assertThat(first.getReservedBlocks()).isEqualTo(13);
    assertThatThrownBy(() -> stub.reserveKv(reserve("b", 10, 10)))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(e.getStatus().getDescription()).contains("no KV room");
        });

    assertThat(stub.releaseKv(ReleaseKvRequest.newBuilder().setReservationId(first.getReservationId()).build())
        .getReleased()).isTrue();
    assertThat(stub.reserveKv(reserve("b", 10, 10)).getReservedBlocks()).isEqualTo(5);
  }

  @Test
  void reserveKv_unusedReservation_expiresAndFreesItsBlocks() {
    MutableClock clock = MutableClock.atEpoch();
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(16, 4, 256, 0))
        .clock(clock)
        .reservationTimeout(Duration.ofSeconds(30)));
    DecodeWorkerGrpc.DecodeWorkerBlockingStub stub = blocking(server);
    int total = stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks();

    ReserveKvResponse r = stub.reserveKv(reserve("a", 8, 8));
    assertThat(stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks()).isEqualTo(total - 4);
    clock.advance(Duration.ofSeconds(29));
    assertThat(stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks()).isEqualTo(total - 4);
    clock.advance(Duration.ofSeconds(1));

    assertThat(stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks()).isEqualTo(total);
    assertThat(server.stats().reservationsPending()).isZero();
    assertThat(stub.releaseKv(ReleaseKvRequest.newBuilder().setReservationId(r.getReservationId()).build())
        .getReleased()).isFalse();
    assertThatThrownBy(() -> decode(stub(server), DecodeRequest.newBuilder()
        .setRequestId("a").addAllPromptTokenIds(List.of(0, 2, 3, 4, 5, 6, 7, 8)).setMaxTokens(8)
        .setReservationId(r.getReservationId())
        .setFirstToken(io.disagg.proto.v1.GeneratedToken.newBuilder().setTokenId(3))
        .build()).done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
  }

  @Test
  void reserveKv_otherModelsFingerprint_isFailedPrecondition() {
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(SimulatedBackend.create()));

    assertThatThrownBy(() -> blocking(server).reserveKv(reserve("a", 8, 8).toBuilder()
        .setModelFingerprint("cd".repeat(32) + "/L2.H1.D4.F32.B4").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION));
  }

  @Test
  void decode_badPrompts_areRefusedWithTheirCodes() {
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(64, 4, 32, 0)));
    DecodeWorkerGrpc.DecodeWorkerStub stub = stub(server);

    assertThat(codeOf(decode(stub, colocated("empty", new int[0], 4)))).isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(codeOf(decode(stub, colocated("vocab", new int[] {0, 64}, 4))))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
    assertThat(codeOf(decode(stub, colocated("long", prompt(1, 33), 4)))).isEqualTo(Status.Code.OUT_OF_RANGE);
    assertThat(codeOf(decode(stub, colocated("temp", prompt(1, 3), 4).toBuilder()
        .setSampling(io.disagg.proto.v1.SamplingParams.newBuilder().setTemperature(-1f)).build())))
        .isEqualTo(Status.Code.INVALID_ARGUMENT);
  }

  @Test
  void decode_reachesContextLength_finishesWithLength() throws Exception {
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(64, 4, 32, 0)));

    StreamResult r = decode(stub(server), colocated("ctx", prompt(2, 30), 0)).done.get(30, TimeUnit.SECONDS);

    // 30 prompt positions leave room to feed back 2 generated tokens; the third is sampled at position 32
    assertThat(r.tokenIds()).hasSize(3);
    assertThat(r.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
  }

  @Test
  void health_reportsDecodeRoleAndPool() {
    DecodeWorkerServer server = start(DecodeWorkerServer.builder(new SimulatedBackend(16, 4, 256, 0))
        .workerId("d-1"));

    WorkerHealth h = blocking(server).health(HealthRequest.getDefaultInstance());

    assertThat(h.getWorkerId()).isEqualTo("d-1");
    assertThat(h.getRole()).isEqualTo(WorkerHealth.Role.ROLE_DECODE);
    assertThat(h.getReady()).isTrue();
    assertThat(h.getTotalKvBlocks()).isEqualTo(16);
    assertThat(h.getFreeKvBlocks()).isEqualTo(16);
    assertThat(h.getBlockTokens()).isEqualTo(4);
    assertThat(h.getKvBytesPerToken()).isEqualTo(2L * 2 * 4 * 4);
    assertThat(h.getModelFingerprint()).isEqualTo("ab".repeat(32) + "/L2.H1.D4.F32.B4");
    server.drain();
    assertThat(blocking(server).health(HealthRequest.getDefaultInstance()).getReady()).isFalse();
  }

  private static ReserveKvRequest reserve(String id, int prompt, int maxNew) {
    return ReserveKvRequest.newBuilder().setRequestId(id).setPromptTokens(prompt).setMaxNewTokens(maxNew).build();
  }

  private static Status.Code codeOf(StreamResult r) {
    try {
      r.done.get(30, TimeUnit.SECONDS);
      return Status.Code.OK;
    } catch (ExecutionException e) {
      return Status.fromThrowable(e.getCause()).getCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /**
   * Polls Health until the pool has {@code expected} free blocks or 10 s pass; returns the last count. Polling is
   * bounded and each poll is a real RPC, so there is no sleep standing in for a condition.
   */
  static int awaitFreeBlocks(DecodeWorkerGrpc.DecodeWorkerBlockingStub stub, int expected) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int free;
    do {
      free = stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks();
    } while (free != expected && System.nanoTime() < deadline);
    return free;
  }
}
