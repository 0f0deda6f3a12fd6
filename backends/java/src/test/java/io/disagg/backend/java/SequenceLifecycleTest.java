package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SequenceLifecycleTest {

  /** A close that arrives while the sequence is being computed (e.g. from a transport thread) waits for the step. */
  @Test
  void closeDuringPrefill_deferredUntilStepEnds_thenBlocksFreed() {
    try (JavaBackend backend = TestModels.open(TestModels.stories260K(), 1, 8)) {
      int[] prompt = {1, 403, 407, 261, 378};
      PrefillListener closeOnLayerOne = (sequence, layer) -> {
        if (layer == 1) {
          // Closed from another thread, as a transport would on abort; the compute still owns the blocks.
          CompletableFuture.runAsync(sequence::close).join();
          assertThat(sequence.isClosed()).isTrue();
          assertThat(backend.kvPool().freeBlocks()).isEqualTo(7);
        }
      };
      List<PrefillResult> results = backend.prefill(
          List.of(new PrefillRequest("abort-me", prompt, SamplingParams.greedy())), closeOnLayerOne);
      assertThat(results.getFirst().sequence().isClosed()).isTrue();
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(8);
    }
  }

  @Test
  void prefillListener_layerSliceWritten_beforeNotification() {
    try (JavaBackend backend = TestModels.open(TestModels.stories260K(), 1, 8)) {
      int[] prompt = {1, 403, 407, 261, 378, 432, 383};
      long kvBytes = backend.model().kvLayout().layerSliceBytes();
      PrefillListener check = (sequence, layer) -> {
        var block = sequence.blocks().getFirst().segment();
        long offset = backend.model().kvLayout().layerOffset(layer);
        // Keys of position 0 in this layer are written (non-zero); the next layer's are not yet.
        assertThat(block.asSlice(offset, 4L * backend.model().kvLayout().kvDim()).toArray(
            java.lang.foreign.ValueLayout.JAVA_FLOAT)).isNotEqualTo(new float[backend.model().kvLayout().kvDim()]);
        if (layer + 1 < backend.model().layers()) {
          assertThat(block.asSlice(offset + kvBytes, 4L * backend.model().kvLayout().kvDim())
              .toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT))
              .containsOnly(0f);
        }
      };
      // Blocks come zeroed from a fresh pool, so unwritten slices read as zero.
      PrefillResult r = backend.prefill(List.of(new PrefillRequest("x", prompt, SamplingParams.greedy())), check)
          .getFirst();
      r.sequence().close();
    }
  }
}
