package io.disagg.backend.llamacpp;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** llama.cpp's greedy output on the embedded model against the reference file and the Java engine. */
class LlamaCppGreedyTest {

  private static int[] greedyFromBos(Backend backend, int steps) {
    int[] got = new int[steps];
    PrefillResult first = backend.prefill(new PrefillRequest("r", new int[] {1}, SamplingParams.greedy(), steps));
    got[0] = first.firstToken().tokenId();
    for (int i = 1; i < steps; i++) {
      got[i] = backend.decode(List.of(new DecodeSlot(first.sequence(), got[i - 1], SamplingParams.greedy())))
          .getFirst().tokenId();
    }
    first.sequence().close();
    return got;
  }

  @Test
  void greedyFromBos_reproducesReference256Tokens() {
    int[] expected = LlamaCppTestModels.expectedGreedy256();
    try (Backend backend = LlamaCppTestModels.open(LlamaCppTestModels.stories260K(), 32)) {
      assertThat(greedyFromBos(backend, 256)).containsExactly(expected);
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(32);
    }
  }

  @Test
  void greedyFromBos_equalsJavaEngine() {
    Path model = LlamaCppTestModels.stories260K();
    int[] java;
    try (Backend backend = Backends.open("java", BackendConfig.builder(model).kvBlocks(32).blockTokens(16).build())) {
      java = greedyFromBos(backend, 256);
    }
    try (Backend backend = LlamaCppTestModels.open(model, 32)) {
      assertThat(greedyFromBos(backend, 256)).containsExactly(java);
    }
  }

  @Test
  void fingerprint_namesEngineAndF16Cache() {
    try (Backend llama = LlamaCppTestModels.open(LlamaCppTestModels.stories260K(), 4);
        Backend java = Backends.open("java", BackendConfig.builder(LlamaCppTestModels.stories260K()).kvBlocks(4)
            .blockTokens(16).build())) {
      assertThat(llama.model().fingerprint().value()).endsWith("/llama.cpp-b4916").contains(".F16.B16");
      assertThat(llama.model().fingerprint().modelSha256()).isEqualTo(java.model().fingerprint().modelSha256());
      assertThat(llama.model().fingerprint()).isNotEqualTo(java.model().fingerprint());
    }
  }
}
