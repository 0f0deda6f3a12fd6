package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PrefixAwareSelectorTest {
  private static final RequestFacts REQUEST = new RequestFacts("r", 200, 10, 0);
  private final PrefixAwareSelector selector = PrefixAwareSelector.withDefaults();

  private static List<String> ids(List<WorkerSnapshot> workers) {
    return workers.stream().map(WorkerSnapshot::id).toList();
  }

  @Test
  void rank_decodeWorkerHoldingPrefix_first() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.idle("cold", WorkerRole.DECODE),
        Snapshots.idle("warm", WorkerRole.DECODE)), REQUEST, Map.of("warm", 160));

    assertThat(ids(ranked)).containsExactly("warm", "cold");
  }

  @Test
  void rank_longerCachedPrefix_beatsShorter() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.idle("some", WorkerRole.DECODE),
        Snapshots.idle("most", WorkerRole.DECODE)), REQUEST, Map.of("some", 32, "most", 192));

    assertThat(ids(ranked)).containsExactly("most", "some");
  }

  @Test
  void rank_prefixHolderLoadedBeyondItsSaving_loadWins() {
    // warm saves 160 prefill tokens (worth 320 at weight 2) but holds 30 blocks × 16 = 480 tokens of live KV:
    // 2 × 40 + 480 = 560 against cold's 2 × 200 = 400.
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.of("warm", WorkerRole.DECODE, 2, 0, 0, 70, 100, 0),
        Snapshots.idle("cold", WorkerRole.DECODE)), REQUEST, Map.of("warm", 160));

    assertThat(ids(ranked)).containsExactly("cold", "warm");
  }

  @Test
  void rank_higherPrefixWeight_prefersHolderDespiteLoad() {
    // 4 × 40 + 480 = 640 against 4 × 200 = 800.
    List<WorkerSnapshot> ranked = PrefixAwareSelector.withPrefixWeight(4).rank(WorkerRole.DECODE, List.of(
        Snapshots.of("warm", WorkerRole.DECODE, 2, 0, 0, 70, 100, 0),
        Snapshots.idle("cold", WorkerRole.DECODE)), REQUEST, Map.of("warm", 160));

    assertThat(ids(ranked)).containsExactly("warm", "cold");
  }

  @Test
  void rank_zeroPrefixWeight_ignoresCaches() {
    List<WorkerSnapshot> ranked = PrefixAwareSelector.withPrefixWeight(0).rank(WorkerRole.DECODE, List.of(
        Snapshots.of("warm", WorkerRole.DECODE, 1, 0, 0, 99, 100, 0),
        Snapshots.idle("cold", WorkerRole.DECODE)), REQUEST, Map.of("warm", 200));

    assertThat(ids(ranked)).containsExactly("cold", "warm");
  }

  @Test
  void rank_holderWithoutKvRoom_last() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.of("warmFull", WorkerRole.DECODE, 0, 0, 0, 3, 100, 0),
        Snapshots.of("coldBusy", WorkerRole.DECODE, 5, 0, 0, 50, 100, 0)), REQUEST, Map.of("warmFull", 200));

    assertThat(ids(ranked)).containsExactly("coldBusy", "warmFull");
  }

  @Test
  void rank_prefillWorkers_cacheAndQueueTradeOneForOne() {
    // b: nothing queued or cached → 200; a: 160 cached but 250 queued → 40 + 250 = 290; c: 100 queued → 300. The
    // prefix weight (here 50, which would put a first) does not apply: cached and queued tokens are both prefill work.
    List<WorkerSnapshot> ranked = PrefixAwareSelector.withPrefixWeight(50).rank(WorkerRole.PREFILL, List.of(
        Snapshots.of("c", WorkerRole.PREFILL, 0, 1, 100, 0, 0, 0),
        Snapshots.idle("b", WorkerRole.PREFILL),
        Snapshots.of("a", WorkerRole.PREFILL, 0, 1, 250, 0, 0, 0)), REQUEST, Map.of("a", 160));

    assertThat(ids(ranked)).containsExactly("b", "a", "c");
  }

  @Test
  void rank_noCachesAnywhere_keepsLeastLoadedOrder() {
    List<WorkerSnapshot> candidates = List.of(
        Snapshots.of("busy", WorkerRole.DECODE, 8, 0, 0, 100, 100, 0),
        Snapshots.of("light", WorkerRole.DECODE, 2, 0, 0, 100, 100, 0));

    assertThat(ids(selector.rank(WorkerRole.DECODE, candidates, REQUEST, Map.of())))
        .isEqualTo(ids(LeastLoadedSelector.instance().rank(WorkerRole.DECODE, candidates, REQUEST, Map.of())));
  }

  @Test
  void withPrefixWeight_outOfRange_rejected() {
    assertThatThrownBy(() -> PrefixAwareSelector.withPrefixWeight(-1)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prefixWeight");
    assertThatThrownBy(() -> PrefixAwareSelector.withPrefixWeight(Double.NaN))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
