package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.KvBlockHashes;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.PrefixCacheDigest;
import io.disagg.backend.spi.SamplingParams;
import java.util.Arrays;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** What the Java engine publishes about its prefix cache ({@link JavaBackend#prefixCache(int)}) for routers. */
class PrefixCacheDigestTest {
  private static final int BT = 16;
  private static final SamplingParams GREEDY = SamplingParams.greedy();

  private static JavaBackend open(int kvBlocks, boolean prefixCache) {
    return JavaBackend.open(BackendConfig.builder(TestModels.stories260K()).threads(1).kvBlocks(kvBlocks)
        .blockTokens(BT).maxBatchTokens(64).option(JavaBackend.PREFIX_CACHE, Boolean.toString(prefixCache)).build());
  }

  /** Token ids in [3, 256) from a salt; {@code shared} leading tokens come from salt 0. */
  private static int[] prompt(int length, int shared, int salt) {
    int[] ids = new int[length];
    for (int i = 0; i < length; i++) {
      int s = i < shared ? 0 : salt;
      ids[i] = 3 + Math.floorMod(i * 37 + s * 101 + 11, 253);
    }
    return ids;
  }

  private static void prefillAndClose(JavaBackend backend, String id, int[] prompt) {
    backend.prefill(new PrefillRequest(id, prompt, GREEDY)).sequence().close();
  }

  private static long[] concat(long[]... parts) {
    return Arrays.stream(parts).flatMapToLong(LongStream::of).toArray();
  }

  @Test
  void digest_afterSequenceCloses_listsItsPromptChainRootFirst() {
    int[] prompt = prompt(2 * BT + 5, 0, 1);
    try (JavaBackend backend = open(32, true)) {
      PrefillResult r = backend.prefill(new PrefillRequest("a", prompt, GREEDY));
      assertThat(backend.prefixCache(100).blockHashes()).isEmpty();

      r.sequence().close();

      PrefixCacheDigest digest = backend.prefixCache(100);
      assertThat(digest.blockHashes()).containsExactly(KvBlockHashes.chain(prompt, BT, 2));
      assertThat(digest.truncated()).isFalse();
      assertThat(digest.version()).isEqualTo(backend.prefixCacheVersion());
    }
  }

  @Test
  void version_changesOnInsertAndEviction_andStaysWhenNothingChanged() {
    int[] prompt = prompt(2 * BT + 5, 0, 1);
    try (JavaBackend backend = open(3, true)) {
      long empty = backend.prefixCacheVersion();
      assertThat(empty).isPositive();

      PrefillResult live = backend.prefill(new PrefillRequest("a", prompt, GREEDY));
      backend.prefixCache(100);
      assertThat(backend.prefixCacheVersion()).isEqualTo(empty);
      live.sequence().close();
      long cached = backend.prefixCacheVersion();
      assertThat(cached).isGreaterThan(empty);

      // The same prompt again reuses both blocks and caches nothing new.
      PrefillResult again = backend.prefill(new PrefillRequest("b", prompt, GREEDY));
      assertThat(again.cachedPromptTokens()).isEqualTo(2 * BT);
      again.sequence().close();
      assertThat(backend.prefixCacheVersion()).isEqualTo(cached);

      // A reservation under pool pressure evicts.
      try (KvReservation all = backend.kvPool().reserve(3)) {
        assertThat(all.blocks()).hasSize(3);
      }
      long evicted = backend.prefixCacheVersion();
      assertThat(evicted).isGreaterThan(cached);
      assertThat(backend.prefixCache(100).blockHashes()).isEmpty();

      prefillAndClose(backend, "c", prompt);
      long refilled = backend.prefixCacheVersion();
      assertThat(refilled).isGreaterThan(evicted);
      assertThat(backend.evictPrefixCache()).isEqualTo(2);
      assertThat(backend.prefixCacheVersion()).isGreaterThan(refilled);
    }
  }

  @Test
  void cacheDisabled_reportsNoneAndVersionZero() {
    try (JavaBackend backend = open(32, false)) {
      prefillAndClose(backend, "a", prompt(2 * BT + 5, 0, 1));

      assertThat(backend.prefixCacheVersion()).isZero();
      assertThat(backend.prefixCache(100)).isSameAs(PrefixCacheDigest.NONE);
    }
  }

  @Test
  void digest_moreBlocksThanAsked_keepsTheMostRecentWholePrefixes() {
    int[] older = prompt(2 * BT + 5, 0, 1);
    int[] newer = prompt(2 * BT + 5, 0, 2);
    try (JavaBackend backend = open(32, true)) {
      prefillAndClose(backend, "older", older);
      prefillAndClose(backend, "newer", newer);
      long[] both = concat(KvBlockHashes.chain(newer, BT, 2), KvBlockHashes.chain(older, BT, 2));

      PrefixCacheDigest all = backend.prefixCache(4);
      assertThat(all.blockHashes()).containsExactly(both);
      assertThat(all.truncated()).isFalse();

      PrefixCacheDigest three = backend.prefixCache(3);
      assertThat(three.blockHashes()).containsExactly(Arrays.copyOf(both, 3));
      assertThat(three.truncated()).isTrue();

      PrefixCacheDigest none = backend.prefixCache(0);
      assertThat(none.blockHashes()).isEmpty();
      assertThat(none.truncated()).isTrue();
    }
  }

  @Test
  void digest_blocksALiveSequenceShares_comeFirst() {
    int[] shared = prompt(2 * BT + 5, 2 * BT, 1);
    int[] other = prompt(2 * BT + 5, 0, 2);
    try (JavaBackend backend = open(32, true)) {
      prefillAndClose(backend, "shared", shared);
      prefillAndClose(backend, "other", other);

      PrefillResult user = backend.prefill(new PrefillRequest("user", prompt(2 * BT + 9, 2 * BT, 3), GREEDY));
      assertThat(user.cachedPromptTokens()).isEqualTo(2 * BT);

      assertThat(backend.prefixCache(4).blockHashes())
          .containsExactly(concat(KvBlockHashes.chain(shared, BT, 2), KvBlockHashes.chain(other, BT, 2)));
      user.sequence().close();
    }
  }

  @Test
  void twinBlocksClosedLater_refreshTheCachedOnes_soParentsStayAheadOfChildren() {
    int[] shorter = prompt(2 * BT + 1, 3 * BT, 4);
    int[] longer = prompt(3 * BT + 1, 3 * BT, 5);
    int[] other = prompt(2 * BT + 5, 0, 6);
    try (JavaBackend backend = open(32, true)) {
      // In one batch, so neither reuses the other's blocks: both own a copy of the first two.
      List<PrefillResult> twins = backend.prefill(List.of(new PrefillRequest("shorter", shorter, GREEDY),
          new PrefillRequest("longer", longer, GREEDY)), PrefillListener.NONE);
      twins.getFirst().sequence().close();
      prefillAndClose(backend, "other", other);
      twins.getLast().sequence().close();

      // The longer prompt's third block is the most recent, and its cached parents must not be older than it.
      assertThat(backend.prefixCache(5).blockHashes())
          .containsExactly(concat(KvBlockHashes.chain(longer, BT, 3), KvBlockHashes.chain(other, BT, 2)));
      // Eviction therefore trims the least recent prefix from its end.
      try (KvReservation r = backend.kvPool().reserve(backend.kvPool().freeBlocks() - 3)) {
        assertThat(backend.prefixCache(5).blockHashes()).containsExactly(KvBlockHashes.chain(longer, BT, 3));
      }
    }
  }
}
