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
    // warm saves 160 prefill tokens but holds 20 blocks × 16 = 320 tokens of live KV.
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.of("warm", WorkerRole.DECODE, 2, 0, 0, 80, 100, 0),
        Snapshots.idle("cold", WorkerRole.DECODE)), REQUEST, Map.of("warm", 160));

    assertThat(ids(ranked)).containsExactly("cold", "warm");
  }

  @Test
  void rank_higherPrefixWeight_prefersHolderDespiteLoad() {
    List<WorkerSnapshot> ranked = PrefixAwareSelector.withPrefixWeight(4).rank(WorkerRole.DECODE, List.of(
        Snapshots.of("warm", WorkerRole.DECODE, 2, 0, 0, 80, 100, 0),
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
    // a: 150 tokens queued, 160 cached → 190; b: nothing queued, nothing cached → 200; c: 100 queued → 300.
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.PREFILL, List.of(
        Snapshots.of("c", WorkerRole.PREFILL, 0, 1, 100, 0, 0, 0),
        Snapshots.idle("b", WorkerRole.PREFILL),
        Snapshots.of("a", WorkerRole.PREFILL, 0, 1, 150, 0, 0, 0)), REQUEST, Map.of("a", 160));

    assertThat(ids(ranked)).containsExactly("a", "b", "c");
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
