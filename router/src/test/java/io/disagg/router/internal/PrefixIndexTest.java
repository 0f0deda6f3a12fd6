package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.KvBlockHashes;
import io.disagg.proto.v1.PrefixCacheDigest;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class PrefixIndexTest {
  private static final int BLOCK = 4;

  private static WorkerSnapshot worker(String id, int blockTokens) {
    return new WorkerSnapshot(id, WorkerRole.DECODE, id, true, "", "sha/layout", "", 0, 0, 0, 100, 100, blockTokens,
        0.0, 0, 0, 0);
  }

  private static List<Integer> prompt(int... tokens) {
    return Arrays.stream(tokens).boxed().toList();
  }

  private static int[] range(int from, int to) {
    return IntStream.range(from, to).toArray();
  }

  private static PrefixCacheDigest digest(long version, int[] tokens) {
    PrefixCacheDigest.Builder d = PrefixCacheDigest.newBuilder().setVersion(version).setIncluded(true);
    for (long h : KvBlockHashes.chain(tokens, BLOCK, Integer.MAX_VALUE)) {
      d.addBlockHashes(h);
    }
    return d.build();
  }

  @Test
  void cachedPrefixTokens_workerHoldsPromptsFirstBlocks_countsWholeMatchingBlocks() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(1, range(0, 8)));

    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 11)))).isEqualTo(8);
    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 6)))).isEqualTo(4);
    assertThat(index.cachedPrefixTokens(worker("b", BLOCK), prompt(range(0, 11)))).isZero();
  }

  @Test
  void cachedPrefixTokens_firstBlockDiffers_zeroEvenIfLaterTokensMatch() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(1, range(0, 12)));

    int[] tokens = range(0, 12);
    tokens[1] = 99;

    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(tokens))).isZero();
  }

  @Test
  void cachedPrefixTokens_otherBlockSize_noMatch() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(1, range(0, 16)));

    assertThat(index.cachedPrefixTokens(worker("a", 8), prompt(range(0, 16)))).isZero();
    assertThat(index.cachedPrefixTokens(worker("a", 0), prompt(range(0, 16)))).isZero();
  }

  @Test
  void apply_newDigest_replacesWorkersBlocksAndKeepsOthers() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(1, range(0, 8)));
    index.apply("b", digest(1, range(0, 8)));

    index.apply("a", digest(2, range(100, 108)));

    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 8)))).isZero();
    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(100, 108)))).isEqualTo(8);
    assertThat(index.cachedPrefixTokens(worker("b", BLOCK), prompt(range(0, 8)))).isEqualTo(8);
    assertThat(index.knownVersion("a")).isEqualTo(2);
    assertThat(index.indexedBlocks()).isEqualTo(4);
  }

  @Test
  void apply_digestWithoutHashes_keepsWhatTheIndexHolds() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(3, range(0, 8)));

    index.apply("a", PrefixCacheDigest.newBuilder().setVersion(3).build());

    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 8)))).isEqualTo(8);
    assertThat(index.knownVersion("a")).isEqualTo(3);
  }

  @Test
  void apply_versionZero_forgetsWorker() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(3, range(0, 8)));

    index.apply("a", PrefixCacheDigest.getDefaultInstance());

    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 8)))).isZero();
    assertThat(index.knownVersion("a")).isZero();
    assertThat(index.indexedBlocks()).isZero();
  }

  @Test
  void forget_unreachableWorker_dropsOnlyItsBlocks() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("a", digest(1, range(0, 8)));
    index.apply("b", digest(1, range(0, 8)));

    index.forget("a");

    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 8)))).isZero();
    assertThat(index.cachedPrefixTokens(worker("b", BLOCK), prompt(range(0, 8)))).isEqualTo(8);
    assertThat(index.knownVersion("a")).isZero();
  }

  @Test
  void apply_moreBlocksThanTheBound_indexStaysBounded() {
    PrefixIndex index = new PrefixIndex(64);
    for (int w = 0; w < 10; w++) {
      index.apply("w" + w, digest(1, range(w * 1000, w * 1000 + 64)));
    }

    assertThat(index.indexedBlocks()).isLessThanOrEqualTo(64);
  }

  @Test
  void apply_digestLongerThanPerWorkerCap_keepsOnlyItsMostRecentHashes() {
    PrefixIndex index = new PrefixIndex(1 << 20);
    PrefixCacheDigest.Builder d = PrefixCacheDigest.newBuilder().setVersion(1).setIncluded(true);
    for (long h = 0; h < PrefixIndex.MAX_HASHES_PER_WORKER + 10; h++) {
      d.addBlockHashes(h);
    }

    index.apply("a", d.build());

    assertThat(index.indexedBlocks()).isEqualTo(PrefixIndex.MAX_HASHES_PER_WORKER);
  }

  @Test
  void apply_duplicateHashesInDigest_countedOnce() {
    PrefixIndex index = new PrefixIndex(1000);
    long[] chain = KvBlockHashes.chain(range(0, 8), BLOCK, Integer.MAX_VALUE);

    index.apply("a", PrefixCacheDigest.newBuilder().setVersion(1).setIncluded(true)
        .addBlockHashes(chain[0]).addBlockHashes(chain[0]).addBlockHashes(chain[1]).build());
    index.apply("a", PrefixCacheDigest.newBuilder().setVersion(2).setIncluded(true)
        .addBlockHashes(chain[0]).build());

    assertThat(index.indexedBlocks()).isEqualTo(1);
    assertThat(index.cachedPrefixTokens(worker("a", BLOCK), prompt(range(0, 8)))).isEqualTo(4);
  }

  @Test
  void cachedPrefixTokens_manyWorkersAtOnce_sameAnswersAsOneByOne() {
    PrefixIndex index = new PrefixIndex(1000);
    index.apply("long", digest(1, range(0, 12)));
    index.apply("short", digest(1, range(0, 4)));
    index.apply("other", digest(1, range(50, 62)));
    List<WorkerSnapshot> workers = List.of(worker("long", BLOCK), worker("short", BLOCK), worker("other", BLOCK),
        worker("unknown", BLOCK), worker("long8", 8));
    List<Integer> prompt = prompt(range(0, 14));

    java.util.Map<String, Integer> all = index.cachedPrefixTokens(workers, prompt);

    assertThat(all).containsExactlyInAnyOrderEntriesOf(
        java.util.Map.of("long", 12, "short", 4, "other", 0, "unknown", 0, "long8", 0));
    for (WorkerSnapshot w : workers) {
      assertThat(index.cachedPrefixTokens(w, prompt)).as(w.id()).isEqualTo(all.get(w.id()));
    }
  }

  @Test
  void constructor_nonPositiveBound_rejected() {
    assertThatThrownBy(() -> new PrefixIndex(0)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("maxBlocks");
  }
}
