package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import java.util.List;
import org.junit.jupiter.api.Test;

class Stories260KGreedyTest {

  @Test
  void greedyFromBos_reproducesReference256Tokens() {
    int[] expected = TestModels.expectedGreedy256();
    assertThat(expected).hasSize(256);
    try (JavaBackend backend = TestModels.open(TestModels.stories260K(), 1, 32)) {
      int[] got = new int[256];
      PrefillResult first = backend.prefill(new PrefillRequest("r", new int[] {1}, SamplingParams.greedy(), 256));
      got[0] = first.firstToken().tokenId();
      for (int i = 1; i < 256; i++) {
        got[i] = backend.decode(List.of(new DecodeSlot(first.sequence(), got[i - 1], SamplingParams.greedy())))
            .getFirst().tokenId();
      }
      assertThat(got).containsExactly(expected);
      first.sequence().close();
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(32);
    }
  }
}
