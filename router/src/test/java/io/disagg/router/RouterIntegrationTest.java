package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.TokenIds;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The router against simulated workers over real loopback gRPC. */
@Timeout(60)
class RouterIntegrationTest {
  private static final String SHORT = "hi";
  private static final String LONG = "the quick brown fox jumps over";

  private static GenerateRequest request(String text, int maxTokens) {
    return GenerateRequest.newBuilder().setText(text).setMaxTokens(maxTokens).build();
  }

  private static List<GenerateChunk> stream(Cluster cluster, GenerateRequest request) {
    List<GenerateChunk> chunks = new ArrayList<>();
    Iterator<GenerateChunk> it = cluster.blocking().generateStream(request);
    it.forEachRemaining(chunks::add);
    return chunks;
  }

  private static String text(List<GenerateChunk> chunks) {
    StringBuilder out = new StringBuilder();
    chunks.forEach(c -> out.append(c.getTextDelta()));
    return out.toString();
  }

  @Test
  void generate_shortPrompt_servedColocatedWithTimingAndServedBy() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      GenerateResponse response = cluster.blocking().generate(request(SHORT, 5).toBuilder()
          .setRequestId("req-short").build());

      List<Integer> prompt = SimulatedModel.promptIds(SHORT);
      assertThat(response.getRequestId()).isEqualTo("req-short");
      assertThat(response.getText()).isEqualTo(SimulatedModel.text(prompt, 5));
      assertThat(response.getTokenIdsList()).hasSize(5);
      assertThat(response.getPromptTokenIdsList()).isEqualTo(prompt);
      assertThat(response.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
      assertThat(response.getUsage().getPromptTokens()).isEqualTo(prompt.size());
      assertThat(response.getUsage().getCompletionTokens()).isEqualTo(5);
      assertThat(response.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(response.getServedBy().getReason()).isEqualTo(ServeReasons.PROMPT_BELOW_THRESHOLD);
      assertThat(response.getServedBy().getDecodeWorker()).isEqualTo(cluster.decode.get(0).address());
      assertThat(response.getServedBy().getPrefillWorker()).isEmpty();
      assertThat(response.getTiming().getPrefillUs()).isEqualTo(10L * prompt.size());
      assertThat(response.getTiming().getQueuedUs()).isEqualTo(3);
      assertThat(response.getTiming().getKvTransferUs()).isZero();
      DecodeRequest sent = cluster.decode.get(0).decodeRequests.peek();
      assertThat(sent.getRequestId()).isEqualTo("req-short");
      assertThat(sent.getReservationId()).isEmpty();
      assertThat(sent.hasFirstToken()).isFalse();
      assertThat(cluster.decode.get(0).reserveRequests).isEmpty();
      assertThat(cluster.prefill.get(0).requests).isEmpty();
    }
  }

  @Test
  void generateStream_longPrompt_disaggregatesThroughReservation() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      SimulatedPrefillWorker p = cluster.prefill.get(0);
      SimulatedDecodeWorker d = cluster.decode.get(0);
      p.beforeAnswer = () -> cluster.ticker.advance(Duration.ofMillis(7));

      List<GenerateChunk> chunks = stream(cluster, request(LONG, 6).toBuilder().setRequestId("req-long").build());

      List<Integer> prompt = SimulatedModel.promptIds(LONG);
      assertThat(text(chunks)).isEqualTo(SimulatedModel.text(prompt, 6));
      GenerateChunk last = chunks.getLast();
      assertThat(chunks.subList(0, chunks.size() - 1)).allSatisfy(c -> {
        assertThat(c.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_UNSPECIFIED);
        assertThat(c.hasTiming()).isFalse();
      });
      assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
      assertThat(last.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(last.getServedBy().getReason()).isEqualTo(ServeReasons.PROMPT_AT_OR_ABOVE_THRESHOLD);
      assertThat(last.getServedBy().getPrefillWorker()).isEqualTo(p.address());
      assertThat(last.getServedBy().getDecodeWorker()).isEqualTo(d.address());
      assertThat(last.getUsage().getCompletionTokens()).isEqualTo(6);
      assertThat(last.getTiming().getPrefillUs()).isEqualTo(SimulatedPrefillWorker.prefillUs(prompt.size()));
      assertThat(last.getTiming().getKvTransferUs()).isEqualTo(SimulatedPrefillWorker.KV_TRANSFER_US);
      assertThat(last.getTiming().getKvTransferBytes()).isEqualTo(SimulatedPrefillWorker.kvBytes(prompt.size()));
      assertThat(last.getTiming().getQueuedUs()).isEqualTo(SimulatedPrefillWorker.QUEUED_US);
      assertThat(last.getTiming().getFirstTokenUs()).isGreaterThanOrEqualTo(7_000);
      assertThat(last.getTiming().getTotalUs())
          .isEqualTo(last.getTiming().getFirstTokenUs() + last.getTiming().getDecodeUs());

      // The protocol: reserve on D, prefill on P into that reservation, decode on D with the first token.
      assertThat(d.reserveRequests).singleElement().satisfies(r -> {
        assertThat(r.getRequestId()).isEqualTo("req-long");
        assertThat(r.getPromptTokens()).isEqualTo(prompt.size());
        assertThat(r.getMaxNewTokens()).isEqualTo(6);
        assertThat(r.getModelFingerprint()).isEqualTo(SimulatedModel.FINGERPRINT);
      });
      PrefillRequest prefill = p.requests.peek();
      assertThat(prefill.getRequestId()).isEqualTo("req-long");
      assertThat(prefill.getDecodeTarget()).isEqualTo(d.kvAddress());
      assertThat(prefill.getReservationId()).isEqualTo("d0-r1");
      assertThat(prefill.getPromptTokenIdsList()).isEqualTo(prompt);
      DecodeRequest decode = d.decodeRequests.peek();
      assertThat(decode.getReservationId()).isEqualTo("d0-r1");
      assertThat(decode.getFirstToken().getTokenId()).isEqualTo(SimulatedModel.token(prompt, 0));
      assertThat(d.releasedReservations).isEmpty();
    }
  }

  @Test
  void generate_sameRequestBothModes_sameTokens() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      GenerateRequest base = request(LONG, 8);
      GenerateResponse disaggregated = cluster.blocking().generate(base.toBuilder()
          .setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build());
      GenerateResponse colocated = cluster.blocking().generate(base.toBuilder()
          .setForceMode(ServeMode.SERVE_MODE_COLOCATED).build());

      assertThat(disaggregated.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(disaggregated.getServedBy().getReason()).isEqualTo(ServeReasons.FORCED);
      assertThat(colocated.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(colocated.getServedBy().getReason()).isEqualTo(ServeReasons.FORCED);
      assertThat(disaggregated.getTokenIdsList()).isEqualTo(colocated.getTokenIdsList());
    }
  }

  @Test
  void generate_forcedDisaggregatedShortPrompt_disaggregates() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      GenerateResponse response = cluster.blocking().generate(request(SHORT, 2).toBuilder()
          .setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build());

      assertThat(response.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(response.getServedBy().getReason()).isEqualTo(ServeReasons.FORCED);
      assertThat(cluster.prefill.get(0).requests).hasSize(1);
    }
  }

  @Test
  void generate_longPromptNoPrefillWorker_colocatedWithReason() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      GenerateResponse response = cluster.blocking().generate(request(LONG, 2));

      assertThat(response.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(response.getServedBy().getReason()).isEqualTo(ServeReasons.NO_PREFILL_WORKER);
    }
  }

  @Test
  void generate_forcedDisaggregatedNoPrefillWorker_unavailable() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      assertThatThrownBy(() -> cluster.blocking().generate(request(SHORT, 2).toBuilder()
          .setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("no prefill worker");
          });
    }
  }

  @Test
  void generate_decodeWorkersWithDifferentLoad_picksLeastLoaded() throws Exception {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.get(0).runningSequences = 9;
      cluster.decode.get(1).runningSequences = 2;
      cluster.poll();

      GenerateResponse response = cluster.blocking().generate(request(SHORT, 2));

      assertThat(response.getServedBy().getDecodeWorker()).isEqualTo(cluster.decode.get(1).address());
    }
  }

  @Test
  void generateStream_burstBetweenPolls_spreadsByRouterTrackedLoad() throws Exception {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.forEach(d -> d.stallAfterChunks = 1);
      List<CountDownLatch> firstChunks = new ArrayList<>();
      List<ClientCallStreamObserver<GenerateRequest>> calls = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        CountDownLatch first = new CountDownLatch(1);
        firstChunks.add(first);
        cluster.async().generateStream(request(SHORT, 5), new ClientResponseObserver<GenerateRequest, GenerateChunk>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<GenerateRequest> call) {
            calls.add(call);
          }

          @Override
          public void onNext(GenerateChunk value) {
            first.countDown();
          }

          @Override
          public void onError(Throwable t) {}

          @Override
          public void onCompleted() {}
        });
        assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
      }

      // Both workers reported idle; the router's own count of the stalled requests spreads them two and two.
      assertThat(cluster.decode.get(0).decodeRequests).hasSize(2);
      assertThat(cluster.decode.get(1).decodeRequests).hasSize(2);
      assertThat(cluster.worker(cluster.decode.get(0).address()).activeRequests()).isEqualTo(2);
      calls.forEach(c -> c.cancel("test over", null));
    }
  }

  @Test
  void generate_reservationRefused_triesAnotherDecodeWorker() throws Exception {
    try (Cluster cluster = new Cluster(1, 2)) {
      cluster.decode.get(0).refuseReservations = true;

      GenerateResponse response = cluster.blocking().generate(request(LONG, 3));

      assertThat(response.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(response.getServedBy().getDecodeWorker()).isEqualTo(cluster.decode.get(1).address());
      assertThat(cluster.decode.get(0).reserveRequests).hasSize(1);
      assertThat(cluster.prefill.get(0).requests.peek().getDecodeTarget())
          .isEqualTo(cluster.decode.get(1).kvAddress());
    }
  }

  @Test
  void generate_colocatedDecodeRefused_triesAnotherDecodeWorker() throws Exception {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.get(0).refuseColocated = true;

      GenerateResponse response = cluster.blocking().generate(request(SHORT, 3));

      assertThat(response.getServedBy().getDecodeWorker()).isEqualTo(cluster.decode.get(1).address());
      assertThat(response.getTokenIdsList()).hasSize(3);
    }
  }

  @Test
  void generate_allDecodeWorkersFull_resourceExhaustedNamingEach() throws Exception {
    try (Cluster cluster = new Cluster(1, 2)) {
      cluster.decode.forEach(d -> d.refuseReservations = true);

      assertThatThrownBy(() -> cluster.blocking().generate(request(LONG, 3)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(e.getStatus().getDescription()).contains("no decode worker has room")
                .contains(cluster.decode.get(0).address()).contains(cluster.decode.get(1).address());
          });
      assertThat(cluster.prefill.get(0).requests).isEmpty();
    }
  }

  @Test
  void generate_allDecodeWorkersFullColocated_resourceExhausted() throws Exception {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.forEach(d -> d.refuseColocated = true);

      assertThatThrownBy(() -> cluster.blocking().generate(request(SHORT, 3)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
    }
  }

  @Test
  void generate_prefillQueueFull_triesAnotherPrefillWorker() throws Exception {
    try (Cluster cluster = new Cluster(2, 1)) {
      cluster.prefill.get(0).refuse = true;

      GenerateResponse response = cluster.blocking().generate(request(LONG, 3));

      assertThat(response.getServedBy().getPrefillWorker()).isEqualTo(cluster.prefill.get(1).address());
      assertThat(response.getServedBy().getReason()).isEqualTo(ServeReasons.PROMPT_AT_OR_ABOVE_THRESHOLD);
      assertThat(cluster.prefill.get(1).requests.peek().getReservationId())
          .isEqualTo(cluster.prefill.get(0).requests.peek().getReservationId());
    }
  }

  @Test
  void generate_everyPrefillFails_releasesReservationAndServesColocated() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      cluster.prefill.get(0).failWith = Status.INTERNAL.withDescription("simulated prefill crash");
      SimulatedDecodeWorker d = cluster.decode.get(0);

      GenerateResponse response = cluster.blocking().generate(request(LONG, 3));

      assertThat(response.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(response.getServedBy().getReason()).isEqualTo(ServeReasons.PREFILL_FAILED_FALLBACK_COLOCATED);
      assertThat(response.getServedBy().getPrefillWorker()).isEmpty();
      assertThat(response.getText()).isEqualTo(SimulatedModel.text(SimulatedModel.promptIds(LONG), 3));
      assertThat(d.releases.poll(5, TimeUnit.SECONDS)).isEqualTo("d0-r1");
      assertThat(d.hasReservation("d0-r1")).isFalse();
    }
  }

  @Test
  void generate_forcedDisaggregatedEveryPrefillRefuses_failsWithoutFallback() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      cluster.prefill.get(0).refuse = true;

      assertThatThrownBy(() -> cluster.blocking().generate(request(LONG, 3).toBuilder()
          .setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED));
      assertThat(cluster.decode.get(0).releases.poll(5, TimeUnit.SECONDS)).isEqualTo("d0-r1");
    }
  }

  @Test
  void generate_deadDecodeWorker_failsFastWithUnavailable() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      cluster.decode.get(0).kill();

      long start = System.nanoTime();
      assertThatThrownBy(() -> cluster.blocking().generate(request(SHORT, 3)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains(cluster.decode.get(0).address());
          });
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(5));
      // Now out of rotation: the next request fails at once without touching the network.
      assertThatThrownBy(() -> cluster.blocking().generate(request(SHORT, 3)))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
            assertThat(e.getStatus().getDescription()).contains("no decode worker is in rotation");
          });
    }
  }

  @Test
  void generateStream_decodeWorkerDiesMidStream_failsFastWithUnavailable() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      SimulatedDecodeWorker d = cluster.decode.get(0);
      d.stallAfterChunks = 2;
      CountDownLatch twoChunks = new CountDownLatch(2);
      CompletableFuture<Throwable> ended = new CompletableFuture<>();
      cluster.async().generateStream(request(SHORT, 50), new io.grpc.stub.StreamObserver<>() {
        @Override
        public void onNext(GenerateChunk value) {
          twoChunks.countDown();
        }

        @Override
        public void onError(Throwable t) {
          ended.complete(t);
        }

        @Override
        public void onCompleted() {
          ended.complete(null);
        }
      });
      assertThat(twoChunks.await(10, TimeUnit.SECONDS)).isTrue();

      d.kill();

      Status status = Status.fromThrowable(ended.get(10, TimeUnit.SECONDS));
      assertThat(status.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      assertThat(status.getDescription()).contains(d.address()).contains("after 2 tokens");
      assertThat(cluster.worker(d.address()).inRotation()).isFalse();
    }
  }

  @Test
  void generate_deadPrefillWorker_fallsBackColocatedAndLeavesRotation() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      SimulatedPrefillWorker p = cluster.prefill.get(0);
      p.close();

      GenerateResponse response = cluster.blocking().generate(request(LONG, 3));

      assertThat(response.getServedBy().getReason()).isEqualTo(ServeReasons.PREFILL_FAILED_FALLBACK_COLOCATED);
      assertThat(response.getServedBy().getDecodeWorker()).isEqualTo(cluster.decode.get(0).address());
      assertThat(cluster.decode.get(0).releases.poll(5, TimeUnit.SECONDS)).isEqualTo("d0-r1");
      assertThat(cluster.worker(p.address()).inRotation()).isFalse();
      // Out of rotation, the next long prompt goes straight to colocated serving.
      assertThat(cluster.blocking().generate(request(LONG, 3)).getServedBy().getReason())
          .isEqualTo(ServeReasons.NO_PREFILL_WORKER);
    }
  }

  @Test
  void pollHealth_deadWorker_outOfRotationThenBackWhenItRecovers() throws Exception {
    try (Cluster cluster = new Cluster(0, 2)) {
      SimulatedDecodeWorker d0 = cluster.decode.get(0);
      assertThat(cluster.worker(d0.address()).inRotation()).isTrue();

      d0.kill();
      cluster.poll();

      assertThat(cluster.worker(d0.address()).inRotation()).isFalse();
      assertThat(cluster.worker(d0.address()).outOfRotationReason()).contains("health check failed");
      for (int i = 0; i < 3; i++) {
        assertThat(cluster.blocking().generate(request(SHORT, 2)).getServedBy().getDecodeWorker())
            .isEqualTo(cluster.decode.get(1).address());
      }

      d0.restart();
      cluster.poll();

      assertThat(cluster.worker(d0.address()).inRotation()).isTrue();
      cluster.decode.get(1).runningSequences = 50;
      cluster.poll();
      assertThat(cluster.blocking().generate(request(SHORT, 2)).getServedBy().getDecodeWorker())
          .isEqualTo(d0.address());
    }
  }

  @Test
  void start_withHealthInterval_keepsPollingAndNoticesRecovery() throws Exception {
    SimulatedDecodeWorker d = SimulatedDecodeWorker.start("d0");
    d.ready = false;
    try (RouterService router = RouterService.builder()
        .model(SimulatedModel.served())
        .decodeWorker(d.address())
        .healthInterval(Duration.ofMillis(20))
        .healthTimeout(Duration.ofSeconds(3))
        .build()) {
      router.start().get(10, TimeUnit.SECONDS);
      assertThat(router.ready()).isFalse();

      d.ready = true;
      // Two more background rounds: the second one certainly saw ready=true.
      int seen = d.healthPolls.get();
      Integer poll;
      do {
        poll = d.healthPollEvents.poll(10, TimeUnit.SECONDS);
        assertThat(poll).as("background health poll").isNotNull();
      } while (poll < seen + 2);
      CompletableFuture<Void> roundDone = router.pollHealth();
      roundDone.get(10, TimeUnit.SECONDS);

      assertThat(router.ready()).isTrue();
    } finally {
      d.close();
    }
  }

  @Test
  void pollHealth_workerNotReadyOrOtherModel_outOfRotation() throws Exception {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.get(0).ready = false;
      cluster.decode.get(1).fingerprint = "cd".repeat(32) + "/other";
      cluster.poll();

      assertThat(cluster.worker(cluster.decode.get(0).address()).outOfRotationReason()).contains("not ready");
      assertThat(cluster.worker(cluster.decode.get(1).address()).outOfRotationReason()).contains("serves model");
      assertThat(cluster.router.ready()).isFalse();
    }
  }

  @Test
  void generateStream_clientCancels_decodeWorkerCancelledAndReservationReleased() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      SimulatedDecodeWorker d = cluster.decode.get(0);
      d.stallAfterChunks = 1;
      CountDownLatch firstChunk = new CountDownLatch(1);
      CompletableFuture<Throwable> ended = new CompletableFuture<>();
      ClientCallStreamObserver<?>[] call = new ClientCallStreamObserver<?>[1];
      cluster.async().generateStream(request(LONG, 50).toBuilder().setRequestId("req-cancel").build(),
          new ClientResponseObserver<GenerateRequest, GenerateChunk>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<GenerateRequest> c) {
              call[0] = c;
            }

            @Override
            public void onNext(GenerateChunk value) {
              firstChunk.countDown();
            }

            @Override
            public void onError(Throwable t) {
              ended.complete(t);
            }

            @Override
            public void onCompleted() {
              ended.complete(null);
            }
          });
      assertThat(firstChunk.await(10, TimeUnit.SECONDS)).isTrue();

      call[0].cancel("user pressed stop", null);

      assertThat(d.cancelledDecodes.poll(10, TimeUnit.SECONDS)).isEqualTo("req-cancel");
      assertThat(d.releases.poll(10, TimeUnit.SECONDS)).isEqualTo("d0-r1");
      assertThat(Status.fromThrowable(ended.get(10, TimeUnit.SECONDS)).getCode()).isEqualTo(Status.Code.CANCELLED);
    }
  }

  @Test
  void generate_deadlineExpiresDuringDecode_workerCancelledAndReservationReleased() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      SimulatedDecodeWorker d = cluster.decode.get(0);
      d.stallAfterChunks = 1;

      assertThatThrownBy(() -> cluster.blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS)
          .generate(request(LONG, 50).toBuilder().setRequestId("req-deadline").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));

      assertThat(d.cancelledDecodes.poll(10, TimeUnit.SECONDS)).isEqualTo("req-deadline");
      assertThat(d.releases.poll(10, TimeUnit.SECONDS)).isEqualTo("d0-r1");
    }
  }

  @Test
  void generate_deadlineExpiresDuringPrefill_prefillCancelledAndReservationReleased() throws Exception {
    try (Cluster cluster = new Cluster(1, 1)) {
      cluster.prefill.get(0).stall = true;

      assertThatThrownBy(() -> cluster.blocking().withDeadlineAfter(300, TimeUnit.MILLISECONDS)
          .generate(request(LONG, 5).toBuilder().setRequestId("req-stuck").build()))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.DEADLINE_EXCEEDED));

      assertThat(cluster.prefill.get(0).cancelled.poll(10, TimeUnit.SECONDS)).isEqualTo("req-stuck");
      assertThat(cluster.decode.get(0).releases.poll(10, TimeUnit.SECONDS)).isEqualTo("d0-r1");
      assertThat(cluster.decode.get(0).decodeRequests).isEmpty();
    }
  }

  @Test
  void generateStream_32ConcurrentRequests_allCompleteCorrectly() throws Exception {
    try (Cluster cluster = new Cluster(2, 2)) {
      int n = 32;
      List<CompletableFuture<List<GenerateChunk>>> results = new ArrayList<>();
      List<String> prompts = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String prompt = (i % 2 == 0 ? LONG : SHORT) + " #" + i;
        prompts.add(prompt);
        CompletableFuture<List<GenerateChunk>> result = new CompletableFuture<>();
        results.add(result);
        List<GenerateChunk> chunks = new ArrayList<>();
        cluster.async().withDeadlineAfter(30, TimeUnit.SECONDS).generateStream(
            request(prompt, 20).toBuilder().setRequestId("req-" + i).build(),
            new io.grpc.stub.StreamObserver<>() {
              @Override
              public void onNext(GenerateChunk value) {
                chunks.add(value);
              }

              @Override
              public void onError(Throwable t) {
                result.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {
                result.complete(chunks);
              }
            });
      }
      for (int i = 0; i < n; i++) {
        List<GenerateChunk> chunks = results.get(i).get(30, TimeUnit.SECONDS);
        List<Integer> ids = SimulatedModel.promptIds(prompts.get(i));
        assertThat(text(chunks)).isEqualTo(SimulatedModel.text(ids, 20));
        String id = "req-" + i;
        assertThat(chunks).allSatisfy(c -> assertThat(c.getRequestId()).isEqualTo(id));
        GenerateChunk last = chunks.getLast();
        assertThat(last.getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
        assertThat(last.getUsage().getCompletionTokens()).isEqualTo(20);
        assertThat(last.getServedBy().getMode()).isEqualTo(i % 2 == 0 ? ServeMode.SERVE_MODE_DISAGGREGATED
            : ServeMode.SERVE_MODE_COLOCATED);
      }
      assertThat(cluster.decode).allSatisfy(d -> assertThat(d.decodeRequests).isNotEmpty());
      assertThat(cluster.router.workers()).allSatisfy(w -> assertThat(w.activeRequests()).isZero());
    }
  }

  @Test
  void generate_invalidRequests_rejectedWithDescription() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      assertThatThrownBy(() -> cluster.blocking().generate(GenerateRequest.getDefaultInstance()))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(e.getStatus().getDescription()).contains("prompt");
          });
      assertThatThrownBy(() -> cluster.blocking().generate(request(SHORT, 10_000)))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE));
      assertThat(cluster.decode.get(0).decodeRequests).isEmpty();
    }
  }

  @Test
  void generate_tokenIdsPromptAndLogprobs_passedThrough() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      GenerateResponse response = cluster.blocking().generate(GenerateRequest.newBuilder()
          .setTokenIds(TokenIds.newBuilder().addIds(256).addIds(104).addIds(105))
          .setMaxTokens(3)
          .setLogprobs(true)
          .build());

      assertThat(response.getPromptTokenIdsList()).containsExactly(256, 104, 105);
      assertThat(response.getTokensList()).hasSize(3).allSatisfy(t -> assertThat(t.getLogprob()).isEqualTo(-0.5f));
      assertThat(cluster.decode.get(0).decodeRequests.peek().getLogprobs()).isTrue();
    }
  }

  @Test
  void metrics_countOutcomesRefusalsAndTimings() throws Exception {
    io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
        new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    try (Cluster cluster = new Cluster(0, 2, b -> b.meterRegistry(meters))) {
      cluster.blocking().generate(request(SHORT, 2));
      cluster.decode.forEach(d -> d.refuseColocated = true);
      assertThatThrownBy(() -> cluster.blocking().generate(request(SHORT, 2)))
          .isInstanceOf(StatusRuntimeException.class);

      assertThat(meters.get("disagg.router.requests").tags("mode", "colocated", "reason",
          ServeReasons.PROMPT_BELOW_THRESHOLD, "outcome", "FINISH_REASON_LENGTH").counter().count()).isEqualTo(1.0);
      assertThat(meters.get("disagg.router.requests").tags("outcome", "RESOURCE_EXHAUSTED").counter().count())
          .isEqualTo(1.0);
      assertThat(meters.get("disagg.router.worker_refusals").tags("role", "decode").counter().count())
          .isEqualTo(2.0);
      assertThat(meters.get("disagg.router.e2e").timer().count()).isEqualTo(1);
      assertThat(meters.get("disagg.router.workers_in_rotation").tags("role", "decode").gauge().value())
          .isEqualTo(2.0);
    }
  }

  @Test
  void getModel_describesServedModelWithWorkerFingerprint() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      ModelDescription model = cluster.blocking().getModel(GetModelRequest.getDefaultInstance());

      assertThat(model.getName()).isEqualTo("simulated");
      assertThat(model.getContextLength()).isEqualTo(SimulatedModel.CONTEXT_LENGTH);
      assertThat(model.getVocabSize()).isEqualTo(258);
      assertThat(model.getFingerprint()).isEqualTo(SimulatedModel.FINGERPRINT);
      assertThat(model.getBosTokenId()).isEqualTo(SimulatedTokenizer.BOS);
    }
  }

  @Test
  void inProcessApi_generateAndCancel() throws Exception {
    try (Cluster cluster = new Cluster(0, 1)) {
      GenerateResponse response = cluster.router.generate(request(SHORT, 4).toBuilder().setRequestId("first").build())
          .get(10, TimeUnit.SECONDS);
      assertThat(response.getText()).isEqualTo(SimulatedModel.text(SimulatedModel.promptIds(SHORT), 4));
      assertThat(cluster.decode.get(0).decodeStarts.poll()).isEqualTo("first");

      cluster.decode.get(0).stallAfterChunks = 0;
      CompletableFuture<Throwable> ended = new CompletableFuture<>();
      GenerateCall call = cluster.router.generate(request(SHORT, 4).toBuilder().setRequestId("in-process").build(),
          new io.grpc.stub.StreamObserver<>() {
            @Override
            public void onNext(GenerateChunk value) {}

            @Override
            public void onError(Throwable t) {
              ended.complete(t);
            }

            @Override
            public void onCompleted() {
              ended.complete(null);
            }
          });
      // Wait until the decode worker has the request before cancelling it.
      assertThat(cluster.decode.get(0).decodeStarts.poll(10, TimeUnit.SECONDS)).isEqualTo("in-process");
      call.cancel();

      assertThat(Status.fromThrowable(ended.get(10, TimeUnit.SECONDS)).getCode()).isEqualTo(Status.Code.CANCELLED);
      assertThat(cluster.decode.get(0).cancelledDecodes.poll(10, TimeUnit.SECONDS)).isEqualTo("in-process");
    }
  }
}
