package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LeastLoadedSelectorTest {
  private static final RequestFacts REQUEST = new RequestFacts("r", 32, 32, 0);
  private final WorkerSelector selector = LeastLoadedSelector.instance();

  private static List<String> ids(List<WorkerSnapshot> ranked) {
    return ranked.stream().map(WorkerSnapshot::id).toList();
  }

  @Test
  void rank_decodeByReportedSequencesAndQueue_leastLoadedFirst() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.of("busy", WorkerRole.DECODE, 8, 0, 0, 100, 100, 0),
        Snapshots.of("queued", WorkerRole.DECODE, 1, 5, 0, 100, 100, 0),
        Snapshots.of("light", WorkerRole.DECODE, 2, 0, 0, 100, 100, 0)), REQUEST, Map.of());

    assertThat(ids(ranked)).containsExactly("light", "queued", "busy");
  }

  @Test
  void rank_decodeRouterTrackedRequestsSincePoll_countAsLoad() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.of("reportedIdleButSentThree", WorkerRole.DECODE, 0, 0, 0, 100, 100, 3),
        Snapshots.of("reportedTwo", WorkerRole.DECODE, 2, 0, 0, 100, 100, 0)), REQUEST, Map.of());

    assertThat(ids(ranked)).containsExactly("reportedTwo", "reportedIdleButSentThree");
  }

  @Test
  void rank_decodeWithoutKvRoom_triedLast() {
    // 64 tokens needed = 4 blocks of 16; "full" has 3 free.
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.of("full", WorkerRole.DECODE, 0, 0, 0, 3, 100, 0),
        Snapshots.of("roomy", WorkerRole.DECODE, 6, 0, 0, 50, 100, 0)), REQUEST, Map.of());

    assertThat(ids(ranked)).containsExactly("roomy", "full");
  }

  @Test
  void rank_prefillByTokensInFlight_fewestFirst() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.PREFILL, List.of(
        Snapshots.of("long", WorkerRole.PREFILL, 0, 1, 4000, 0, 0, 0),
        Snapshots.of("short", WorkerRole.PREFILL, 0, 3, 100, 0, 0, 0)), REQUEST, Map.of());

    assertThat(ids(ranked)).containsExactly("short", "long");
  }

  @Test
  void rank_equalLoad_keepsRegistrationOrder() {
    List<WorkerSnapshot> ranked = selector.rank(WorkerRole.DECODE, List.of(
        Snapshots.idle("a", WorkerRole.DECODE), Snapshots.idle("b", WorkerRole.DECODE)), REQUEST, Map.of());

    assertThat(ids(ranked)).containsExactly("a", "b");
  }
}
