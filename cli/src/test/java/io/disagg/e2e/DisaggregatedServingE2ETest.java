package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.client.GenerateListener;
import io.disagg.client.GenerateResult;
import io.disagg.client.GenerateStream;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 4's must-shows through the real router, prefill worker and decode worker processes: both serve modes give
 * the same greedy tokens as {@code disagg generate}, the disaggregated path really moves the KV cache, concurrent
 * streams all finish correctly, and cancelling gives the decode worker's KV blocks back.
 */
@ExtendWith(SharedCluster.class)
class DisaggregatedServingE2ETest {
  private static final int MAX_TOKENS = 24;

  private static LocalCluster cluster;

  @BeforeAll
  static void attach(LocalCluster shared) {
    cluster = shared;
  }

  private static GenerateRequest greedy(String prompt, int maxTokens, ServeMode mode) {
    return GenerateRequest.newBuilder().setText(prompt).setMaxTokens(maxTokens).setForceMode(mode).build();
  }

  static List<String> prompts() {
    return Prompts.all();
  }

  @ParameterizedTest
  @MethodSource("prompts")
  void greedy_disaggregatedAndColocated_matchGenerateCommandTokenForToken(String prompt) throws Exception {
    GenerateCli.Output reference = GenerateCli.greedy(prompt, MAX_TOKENS);

    GenerateResponse disaggregated = cluster.routerStub()
        .generate(greedy(prompt, MAX_TOKENS, ServeMode.SERVE_MODE_DISAGGREGATED));
    GenerateResponse colocated = cluster.routerStub()
        .generate(greedy(prompt, MAX_TOKENS, ServeMode.SERVE_MODE_COLOCATED));

    assertThat(reference.ids()).as("reference output").isNotEmpty();
    assertThat(disaggregated.getPromptTokenIdsList()).isEqualTo(reference.promptIds());
    assertThat(disaggregated.getTokenIdsList()).as("disaggregated ids").isEqualTo(reference.ids());
    assertThat(disaggregated.getText()).isEqualTo(reference.text());
    assertThat(disaggregated.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
    assertThat(colocated.getPromptTokenIdsList()).isEqualTo(reference.promptIds());
    assertThat(colocated.getTokenIdsList()).as("colocated ids").isEqualTo(reference.ids());
    assertThat(colocated.getText()).isEqualTo(reference.text());
    assertThat(colocated.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
  }

  @Test
  void disaggregated_movesKvCacheFromPrefillWorkerToDecodeWorker() throws Exception {
    WorkerHealth decode = cluster.decodeHealth(SharedCluster.DECODE);
    int prefillFree = cluster.prefillHealth(SharedCluster.PREFILL).getFreeKvBlocks();
    String decodeMetrics = cluster.workerMetrics(SharedCluster.DECODE);
    String before = RouterMetrics.scrape(decodeMetrics, null);

    GenerateResponse r = cluster.routerStub().generate(greedy(Prompts.LONG, 8, ServeMode.SERVE_MODE_UNSPECIFIED));

    // the decode worker's own kv-transfer counters saw the transfer, byte for byte
    String after = RouterMetrics.scrape(decodeMetrics, null);
    assertThat(RouterMetrics.sum(after, "disagg_kv_transfer_completed_total")
        - RouterMetrics.sum(before, "disagg_kv_transfer_completed_total")).isGreaterThanOrEqualTo(1);
    assertThat(RouterMetrics.sum(after, "disagg_kv_transfer_bytes_total")
        - RouterMetrics.sum(before, "disagg_kv_transfer_bytes_total"))
        .isGreaterThanOrEqualTo((double) r.getTiming().getKvTransferBytes());

    assertThat(r.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
    assertThat(r.getServedBy().getReason()).isEqualTo("prompt_at_or_above_threshold");
    assertThat(r.getServedBy().getPrefillWorker()).isEqualTo(cluster.grpc(SharedCluster.PREFILL));
    assertThat(r.getServedBy().getDecodeWorker()).isEqualTo(cluster.grpc(SharedCluster.DECODE));
    int promptTokens = r.getUsage().getPromptTokens();
    assertThat(promptTokens).isEqualTo(r.getPromptTokenIdsCount()).isGreaterThanOrEqualTo(SharedCluster.THRESHOLD);
    // The bytes the router reports are the decode worker's KV layout times the prompt, rounded up to whole blocks.
    long perToken = decode.getKvBytesPerToken();
    long blocks = (promptTokens + decode.getBlockTokens() - 1) / decode.getBlockTokens();
    assertThat(perToken).isPositive();
    assertThat(r.getTiming().getKvTransferBytes())
        .isBetween(promptTokens * perToken, blocks * decode.getBlockTokens() * perToken);
    assertThat(r.getTiming().getKvTransferUs()).isPositive();
    assertThat(r.getTiming().getPrefillUs()).isPositive();
    // the prefill worker keeps nothing once the cache is on the decode worker, which frees it at the end
    assertThat(LocalCluster.await(Duration.ofSeconds(10),
        () -> cluster.prefillHealth(SharedCluster.PREFILL).getFreeKvBlocks() == prefillFree)).isTrue();
    assertThat(LocalCluster.await(Duration.ofSeconds(10),
        () -> cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks() == decode.getFreeKvBlocks())).isTrue();
  }

  @Test
  void colocated_shortPrompt_movesNoKvCache() {
    GenerateResponse r = cluster.routerStub().generate(greedy(Prompts.SHORT, 8, ServeMode.SERVE_MODE_UNSPECIFIED));

    assertThat(r.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
    assertThat(r.getServedBy().getReason()).isEqualTo("prompt_below_threshold");
    assertThat(r.getServedBy().getPrefillWorker()).isEmpty();
    assertThat(r.getTiming().getKvTransferBytes()).isZero();
  }

  @Test
  void concurrentStreams_32MixedLengths_allCompleteWithGreedyOutputs() throws Exception {
    int freeBefore = cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks();
    Map<String, List<Integer>> reference = new HashMap<>();
    for (String prompt : Prompts.all()) {
      reference.put(prompt, cluster.routerStub().generate(greedy(prompt, MAX_TOKENS, ServeMode.SERVE_MODE_COLOCATED))
          .getTokenIdsList());
    }
    int[] budgets = {4, 9, 16, MAX_TOKENS};
    List<GenerateRequest> requests = new ArrayList<>();
    List<CompletableFuture<GenerateResult>> results = new ArrayList<>();
    List<StringBuilder> streamedText = new ArrayList<>();
    for (int i = 0; i < 32; i++) {
      String prompt = Prompts.all().get(i % Prompts.all().size());
      GenerateRequest request = greedy(prompt, budgets[(i / 4) % budgets.length], ServeMode.SERVE_MODE_UNSPECIFIED)
          .toBuilder().setRequestId("concurrent-" + i).build();
      StringBuilder text = new StringBuilder();
      requests.add(request);
      streamedText.add(text);
      results.add(cluster.client().generateStream(request, chunk -> text.append(chunk.getTextDelta())).result());
    }

    CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(120, TimeUnit.SECONDS);

    List<ServeMode> modes = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      GenerateRequest request = requests.get(i);
      GenerateResult result = results.get(i).join();
      List<Integer> full = reference.get(request.getText());
      List<Integer> expected = full.subList(0, Math.min(request.getMaxTokens(), full.size()));
      assertThat(result.tokenIds()).as("request %s (%d tokens of %s)", i, request.getMaxTokens(), request.getText())
          .isEqualTo(expected);
      assertThat(result.requestId()).isEqualTo(request.getRequestId());
      assertThat(streamedText.get(i).toString()).isEqualTo(result.text());
      modes.add(result.servedBy().mode());
    }
    assertThat(modes).contains(ServeMode.SERVE_MODE_DISAGGREGATED, ServeMode.SERVE_MODE_COLOCATED);
    assertThat(LocalCluster.await(Duration.ofSeconds(10),
        () -> cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks() == freeBefore))
        .as("decode worker's free_kv_blocks back to %d", freeBefore).isTrue();
  }

  @ParameterizedTest
  @EnumSource(value = ServeMode.class, names = {"SERVE_MODE_DISAGGREGATED", "SERVE_MODE_COLOCATED"})
  void cancelMidStream_returnsDecodeWorkersFreeKvBlocks(ServeMode mode) throws Exception {
    int before = cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks();
    CompletableFuture<Void> firstChunk = new CompletableFuture<>();
    CompletableFuture<StatusRuntimeException> failed = new CompletableFuture<>();
    GenerateStream stream = cluster.client().generateStream(greedy(Prompts.LONG, 400, mode), new GenerateListener() {
      @Override
      public void onChunk(GenerateChunk chunk) {
        firstChunk.complete(null);
      }

      @Override
      public void onCompleted(GenerateResult result) {
        firstChunk.completeExceptionally(new AssertionError("finished before it was cancelled: " + result));
      }

      @Override
      public void onError(StatusRuntimeException error) {
        failed.complete(error);
        firstChunk.completeExceptionally(error);
      }
    });
    firstChunk.get(30, TimeUnit.SECONDS);
    int during = cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks();

    stream.cancel("test cancels mid-stream");

    assertThat(during).as("free blocks while the sequence runs").isLessThan(before);
    assertThat(failed.get(10, TimeUnit.SECONDS).getStatus().getCode()).isEqualTo(Status.Code.CANCELLED);
    boolean returned = LocalCluster.await(Duration.ofSeconds(10),
        () -> cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks() == before);
    assertThat(returned).as("free_kv_blocks back to %d, now %d", before,
        cluster.decodeHealth(SharedCluster.DECODE).getFreeKvBlocks()).isTrue();
  }

  @Test
  void finishedStream_reportsFinalChunkWithTimingAndUsage() throws Exception {
    GenerateResult r = cluster.client().generateStream(greedy(Prompts.LILY, 6, ServeMode.SERVE_MODE_UNSPECIFIED),
        c -> { }).result().get(30, TimeUnit.SECONDS);

    assertThat(r.finishReason()).isIn(FinishReason.FINISH_REASON_LENGTH, FinishReason.FINISH_REASON_STOP);
    assertThat(r.usage().completionTokens()).isEqualTo(r.tokenIds().size());
    assertThat(r.timing().total()).isPositive().isGreaterThanOrEqualTo(r.timing().firstToken());
  }

  @Test
  void promptBeyondContext_isRejectedWithOutOfRange() {
    String huge = (Prompts.LONG + " ").repeat(40);

    assertThatThrownBy(() -> cluster.routerStub().generate(greedy(huge, 8, ServeMode.SERVE_MODE_UNSPECIFIED)))
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.OUT_OF_RANGE));
  }
}
