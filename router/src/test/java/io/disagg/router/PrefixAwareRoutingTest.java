package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Prefix-aware routing through the real router: workers report their prefix caches in Health answers, the router
 * indexes the block hashes and sends prompts where their prefix is.
 */
@Timeout(60)
class PrefixAwareRoutingTest {
  /** 65 bytes: with BOS, 66 tokens, so four full 16-token blocks. */
  private static final String SYSTEM_PROMPT = "You are a helpful assistant. Answer briefly and cite the sources.";
  private static final String PROMPT = SYSTEM_PROMPT + " What is a KV cache?";

  private static GenerateRequest request(String text) {
    return GenerateRequest.newBuilder().setText(text).setMaxTokens(2).build();
  }

  @Test
  void generate_sharedPrefixCachedOnSecondDecodeWorker_routedThere() {
    try (Cluster cluster = new Cluster(0, 3)) {
      cluster.decode.get(1).prefixCache.holds(SimulatedPrefixCache.routerTokens(SYSTEM_PROMPT));
      cluster.poll();

      for (int i = 0; i < 3; i++) {
        ServedBy servedBy = cluster.blocking().generate(request(PROMPT + " #" + i)).getServedBy();
        assertThat(servedBy.getDecodeWorker()).isEqualTo(cluster.decode.get(1).address());
      }
    }
  }

  @Test
  void generate_unrelatedPrompt_ignoresOtherWorkersCache() {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.get(1).prefixCache.holds(SimulatedPrefixCache.routerTokens(SYSTEM_PROMPT));
      cluster.poll();

      ServedBy servedBy = cluster.blocking()
          .generate(request("Something else entirely, long enough for several blocks of bytes.")).getServedBy();

      assertThat(servedBy.getDecodeWorker()).isEqualTo(cluster.decode.get(0).address());
    }
  }

  @Test
  void generate_prefixHolderMuchMoreLoaded_loadWins() {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.get(1).prefixCache.holds(SimulatedPrefixCache.routerTokens(SYSTEM_PROMPT));
      // 100 blocks of 16 tokens held by live sequences: 1,600 tokens of load against 64 cached prompt tokens.
      cluster.decode.get(1).freeKvBlocks = 900;
      cluster.poll();

      ServedBy servedBy = cluster.blocking().generate(request(PROMPT)).getServedBy();

      assertThat(servedBy.getDecodeWorker()).isEqualTo(cluster.decode.get(0).address());
    }
  }

  @Test
  void generate_disaggregated_prefillRoutedToWorkerHoldingPrefix() {
    try (Cluster cluster = new Cluster(2, 1)) {
      cluster.prefill.get(1).prefixCache.holds(SimulatedPrefixCache.routerTokens(SYSTEM_PROMPT));
      cluster.poll();

      ServedBy servedBy = cluster.blocking().generate(request(PROMPT).toBuilder()
          .setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build()).getServedBy();

      assertThat(servedBy.getPrefillWorker()).isEqualTo(cluster.prefill.get(1).address());
    }
  }

  @Test
  void generate_workerDroppedItsCache_routerForgetsOnNextPoll() {
    try (Cluster cluster = new Cluster(0, 2)) {
      cluster.decode.get(1).prefixCache.holds(SimulatedPrefixCache.routerTokens(SYSTEM_PROMPT));
      cluster.poll();
      assertThat(cluster.blocking().generate(request(PROMPT)).getServedBy().getDecodeWorker())
          .isEqualTo(cluster.decode.get(1).address());

      cluster.decode.get(1).prefixCache.clear();
      cluster.decode.get(1).runningSequences = 1;
      cluster.decode.get(1).freeKvBlocks = 999;
      cluster.poll();

      assertThat(cluster.blocking().generate(request(PROMPT)).getServedBy().getDecodeWorker())
          .isEqualTo(cluster.decode.get(0).address());
    }
  }

  @Test
  void generate_promptFullyCachedOnBusyDecodeWorker_servedColocatedAsFullyCached() {
    String blockAligned = "x".repeat(63); // with BOS: 64 tokens, four whole blocks
    try (Cluster cluster = new Cluster(1, 1, b -> b.classifier(CostModelClassifier.withDefaults()))) {
      cluster.decode.getFirst().runningSequences = 50;
      cluster.poll();
      ServedBy uncached = cluster.blocking().generate(request(blockAligned)).getServedBy();

      cluster.decode.getFirst().prefixCache.holds(SimulatedPrefixCache.routerTokens(blockAligned));
      cluster.poll();
      ServedBy cached = cluster.blocking().generate(request(blockAligned)).getServedBy();

      assertThat(uncached.getMode()).isEqualTo(ServeMode.SERVE_MODE_DISAGGREGATED);
      assertThat(cached.getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
      assertThat(cached.getReason()).isEqualTo(ServeReasons.FULLY_CACHED);
    }
  }

  @Test
  void healthPoll_unchangedCache_routerSendsKnownVersionSoHashesAreLeftOut() {
    try (Cluster cluster = new Cluster(0, 1)) {
      SimulatedPrefixCache cache = cluster.decode.getFirst().prefixCache;
      cache.holds(SimulatedPrefixCache.routerTokens(SYSTEM_PROMPT));
      cluster.poll();
      cluster.poll();
      cluster.poll();

      // The first poll after holds() carries the old version; every later one the version the router took.
      assertThat(cache.knownVersions.getLast()).isEqualTo(1L);
      assertThat(cache.knownVersions).contains(0L);
    }
  }

  @Test
  void metrics_promptTokensCachedAndComputed_countedFromWorkerUsage() {
    SimpleMeterRegistry meters = new SimpleMeterRegistry();
    try (Cluster cluster = new Cluster(0, 1, b -> b.meterRegistry(meters))) {
      cluster.decode.getFirst().cachedPromptTokens = 48;
      cluster.blocking().generate(request(PROMPT));

      assertThat(meters.get("disagg.router.prompt_tokens").tag("source", "cached").counter().count())
          .isEqualTo(48);
      assertThat(meters.get("disagg.router.prompt_tokens").tag("source", "computed").counter().count())
          .isEqualTo(SimulatedPrefixCache.routerTokens(PROMPT).length - 48);
      assertThat(meters.get("disagg.router.prefix_index_blocks").gauge().value()).isZero();
    }
  }
}
