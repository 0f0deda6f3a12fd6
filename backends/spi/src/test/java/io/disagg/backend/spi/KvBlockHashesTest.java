package io.disagg.backend.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class KvBlockHashesTest {
  private static final int BT = 16;

  private static int[] randomTokens(SplittableRandom random, int length) {
    return random.ints(length, 0, 32_000).toArray();
  }

  @Test
  void chain_isNextAppliedBlockByBlockFromRoot() {
    int[] tokens = randomTokens(new SplittableRandom(1), 3 * BT + 5);

    long[] chain = KvBlockHashes.chain(tokens, BT, 10);

    assertThat(chain).hasSize(3);
    long parent = KvBlockHashes.ROOT;
    for (int b = 0; b < chain.length; b++) {
      parent = KvBlockHashes.next(parent, tokens, b * BT, BT);
      assertThat(chain[b]).isEqualTo(parent);
    }
  }

  @Test
  void chain_stopsAtMaxBlocks_andIgnoresThePartialLastBlock() {
    int[] tokens = randomTokens(new SplittableRandom(2), 4 * BT - 1);

    assertThat(KvBlockHashes.chain(tokens, BT, 2)).containsExactly(Arrays.copyOf(KvBlockHashes.chain(tokens, BT, 9), 2));
    assertThat(KvBlockHashes.chain(tokens, BT, 0)).isEmpty();
    assertThat(KvBlockHashes.chain(Arrays.copyOf(tokens, BT - 1), BT, 9)).isEmpty();
  }

  @Test
  void promptsSharingKFullBlocks_agreeOnExactlyTheFirstKHashes() {
    SplittableRandom random = new SplittableRandom(3);
    for (int k = 0; k <= 4; k++) {
      int[] a = randomTokens(random, 5 * BT + 3);
      int[] b = a.clone();
      // One token differs inside block k; everything after it too (the chain carries it on).
      b[k * BT + random.nextInt(BT)] ^= 1;

      long[] ha = KvBlockHashes.chain(a, BT, 5);
      long[] hb = KvBlockHashes.chain(b, BT, 5);

      for (int i = 0; i < 5; i++) {
        if (i < k) {
          assertThat(hb[i]).as("block %d of a prompt differing in block %d", i, k).isEqualTo(ha[i]);
        } else {
          assertThat(hb[i]).as("block %d of a prompt differing in block %d", i, k).isNotEqualTo(ha[i]);
        }
      }
    }
  }

  @Test
  void sameBlockAfterDifferentPrefixes_hashesDifferently() {
    int[] block = randomTokens(new SplittableRandom(4), BT);
    int[] first = new int[2 * BT];
    int[] second = new int[2 * BT];
    System.arraycopy(block, 0, first, BT, BT);
    System.arraycopy(block, 0, second, BT, BT);
    second[0] = 1;

    assertThat(KvBlockHashes.chain(first, BT, 2)[1]).isNotEqualTo(KvBlockHashes.chain(second, BT, 2)[1]);
  }

  @Test
  void fixedValues_neverChange_becauseRoutersAndWorkersMustAgree() {
    int[] tokens = new int[2 * BT];
    Arrays.setAll(tokens, i -> i);

    assertThat(KvBlockHashes.chain(tokens, BT, 2)).containsExactly(FIRST_BLOCK_0_TO_15, SECOND_BLOCK_16_TO_31);
  }

  @Test
  void invalidArguments_failNamingWhat() {
    assertThatThrownBy(() -> KvBlockHashes.chain(new int[4], 0, 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("blockTokens: 0 (expected: >= 1)");
    assertThatThrownBy(() -> KvBlockHashes.chain(new int[4], 2, -1))
        .isInstanceOf(IllegalArgumentException.class).hasMessage("maxBlocks: -1 (expected: >= 0)");
    assertThatThrownBy(() -> KvBlockHashes.next(KvBlockHashes.ROOT, new int[BT], 1, BT))
        .isInstanceOf(IndexOutOfBoundsException.class);
    assertThatThrownBy(() -> KvBlockHashes.next(KvBlockHashes.ROOT, new int[BT], -1, 1))
        .isInstanceOf(IndexOutOfBoundsException.class);
  }

  // Pinned from the implementation at the time the wire format was defined; a change here is a protocol change.
  private static final long FIRST_BLOCK_0_TO_15 = 0xC18CBA474D5CDB2EL;
  private static final long SECOND_BLOCK_16_TO_31 = 0xA3F8DF4626567BA4L;
}
