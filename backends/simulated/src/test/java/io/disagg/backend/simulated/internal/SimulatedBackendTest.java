package io.disagg.backend.simulated.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.simulated.SimulatedOptions;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.Backends;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class SimulatedBackendTest {
  private static BackendConfig.Builder config(String profile, String shape, int kvBlocks) {
    return BackendConfig.builder(Path.of("unused.gguf")).kvBlocks(kvBlocks).blockTokens(16)
        .option(SimulatedOptions.PROFILE, profile).option(SimulatedOptions.SHAPE, shape)
        .option(SimulatedOptions.TIME_SCALE, "0");
  }

  @Test
  void open_weightsDoNotFitMemory_refusedWithSizes() {
    assertThatThrownBy(() -> Backends.open("simulated", config("cs3", "llama3-70b", 16).build()))
        .isInstanceOfSatisfying(BackendException.class, e -> {
          assertThat(e.code()).isEqualTo(BackendException.Code.MODEL_INVALID);
          assertThat(e.getMessage()).contains("does not fit").contains("44.00 GB").contains("simulated.devices");
        });
  }

  @Test
  void open_kvPoolDoesNotFit_refused() {
    // 8B in BF16 is ~15 GB; 100k blocks x 16 tokens x 128 KiB is ~210 GB
    assertThatThrownBy(() -> Backends.open("simulated", config("h100", "llama3-8b", 100_000).build()))
        .isInstanceOf(BackendException.class).hasMessageContaining("KV of 100000 blocks");
  }

  @Test
  void open_unknownOption_refused() {
    assertThatThrownBy(() -> Backends.open("simulated",
        config("h100", "tiny", 4).option("simulated.profle", "cs3").build()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("simulated.profle");
  }

  @Test
  void kvPayload_bigShapeAuto_isVirtual_smallShape_isReal() {
    try (Backend big = Backends.open("simulated", config("h100", "llama3-8b", 64).build());
        Backend small = Backends.open("simulated", config("h100", "tiny", 64).build())) {
      assertThat(((SimulatedBackend) big).virtualKv()).isFalse(); // 64 blocks of 2 MiB fit the 256 MiB limit
      assertThat(small.kvPool().layout().kvHeads()).isEqualTo(2);
    }
    try (Backend big = Backends.open("simulated", config("h100", "llama3-8b", 1024).build())) {
      assertThat(((SimulatedBackend) big).virtualKv()).isTrue();
      assertThat(big.kvPool().layout().blockBytes()).isEqualTo(2L * 16 * 2 * 4 * 32);
      assertThat(big.model().kvHeads()).isEqualTo(8);
    }
  }

  @Test
  void import_blocksNotTransferred_refusedAsMismatch() {
    try (Backend a = Backends.open("simulated", config("h100", "tiny", 16).build());
        Backend b = Backends.open("simulated", config("h100", "tiny", 16).build())) {
      PrefillResult r = a.prefill(new PrefillRequest("x", new int[] {5, 6, 7}, SamplingParams.greedy()));
      KvExport export = a.exportKv(r.sequence());
      try (KvReservation reservation = b.kvPool().reserve(1)) {
        reservation.blocks().getFirst().segment().fill((byte) 0);
        assertThatThrownBy(() -> b.importKv(reservation, new KvImport("x", export.fingerprint(), export.tokens())))
            .isInstanceOfSatisfying(BackendException.class,
                e -> assertThat(e.code()).isEqualTo(BackendException.Code.KV_MISMATCH));
        MemorySegment.copy(export.blocks().getFirst(), 0, reservation.blocks().getFirst().segment(), 0,
            export.layout().blockBytes());
        assertThat(b.importKv(reservation, new KvImport("x", export.fingerprint(), export.tokens())).cachedTokens())
            .isEqualTo(3);
      }
      r.sequence().close();
    }
  }

  @Test
  void generatedTokens_neverEndOfGenerationOrSpecial() {
    try (Backend backend = Backends.open("simulated", config("h100", "tiny", 16).build())) {
      for (int salt = 0; salt < 50; salt++) {
        PrefillResult r = backend.prefill(new PrefillRequest("x", new int[] {3 + salt, 4}, SamplingParams.greedy()));
        int t = r.firstToken().tokenId();
        assertThat(backend.tokenizer().isSpecial(t) || backend.tokenizer().isEndOfGeneration(t)).isFalse();
        r.sequence().close();
      }
    }
  }
}
