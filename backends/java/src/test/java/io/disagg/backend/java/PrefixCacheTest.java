package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Block-granular prefix caching in the Java engine (option {@code java.prefix-cache}). */
class PrefixCacheTest {
  private static final int BT = 16;
  private static final int STEPS = 12;
  private static final SamplingParams GREEDY = SamplingParams.greedy().withLogprobs(true, 3);

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

  private record Run(int cachedPromptTokens, List<SampledToken> tokens) {}

  private static Run generate(JavaBackend backend, String id, int[] prompt) {
    PrefillResult r = backend.prefill(new PrefillRequest(id, prompt, GREEDY, STEPS));
    try (Sequence s = r.sequence()) {
      return new Run(r.cachedPromptTokens(), continueFrom(backend, s, r.firstToken()));
    }
  }

  private static List<SampledToken> continueFrom(JavaBackend backend, Sequence s, SampledToken first) {
    List<SampledToken> out = new ArrayList<>(List.of(first));
    while (out.size() < STEPS) {
      out.add(backend.decode(List.of(new DecodeSlot(s, out.getLast().tokenId(), GREEDY))).getFirst());
    }
    return out;
  }

  private static void assertSameGeneration(List<SampledToken> actual, List<SampledToken> expected) {
    assertThat(actual.stream().map(SampledToken::tokenId).toList())
        .containsExactlyElementsOf(expected.stream().map(SampledToken::tokenId).toList());
    for (int i = 0; i < expected.size(); i++) {
      assertThat(actual.get(i).logprob()).isCloseTo(expected.get(i).logprob(), within(1e-4f));
    }
  }

  @Test
  void secondRequest_sharingTwoBlockPrefix_reusesThemAndMatchesCacheOff() {
    int[] first = prompt(2 * BT + 5, 2 * BT, 1);
    int[] second = prompt(2 * BT + 9, 2 * BT, 2);
    try (JavaBackend on = open(32, true); JavaBackend off = open(32, false)) {
      assertThat(generate(on, "a", first).cachedPromptTokens()).isZero();
      Run cached = generate(on, "b", second);
      assertThat(cached.cachedPromptTokens()).isEqualTo(2 * BT);

      assertThat(generate(off, "a", first).cachedPromptTokens()).isZero();
      Run computed = generate(off, "b", second);
      assertThat(computed.cachedPromptTokens()).isZero();
      assertThat(off.prefixCachedBlocks()).isZero();
      assertSameGeneration(cached.tokens(), computed.tokens());
    }
  }

  @Test
  void prompt_entirelyCached_stillComputesItsLastToken() {
    int[] prompt = prompt(2 * BT, 2 * BT, 0);
    try (JavaBackend backend = open(32, true)) {
      Run reference = generate(backend, "a", prompt);
      assertThat(backend.prefixCachedBlocks()).isGreaterThanOrEqualTo(2);
      Run again = generate(backend, "b", prompt);
      // Both blocks are cached, but the second holds the last prompt token, whose logits are needed.
      assertThat(again.cachedPromptTokens()).isEqualTo(BT);
      assertSameGeneration(again.tokens(), reference.tokens());

      int[] longer = Arrays.copyOf(prompt, 2 * BT + 1);
      longer[2 * BT] = reference.tokens().getFirst().tokenId();
      PrefillResult r = backend.prefill(new PrefillRequest("c", longer, GREEDY));
      assertThat(r.cachedPromptTokens()).isEqualTo(2 * BT);
      assertThat(r.firstToken().tokenId()).isEqualTo(reference.tokens().get(1).tokenId());
      r.sequence().close();
    }
  }

  @Test
  void poolPressure_evictsCachedBlocksInsteadOfFailing() {
    try (JavaBackend backend = open(4, true)) {
      backend.prefill(new PrefillRequest("fill", prompt(4 * BT, 0, 3), GREEDY)).sequence().close();
      assertThat(backend.prefixCachedBlocks()).isEqualTo(4);
      assertThat(backend.evictableKvBlocks()).isEqualTo(4);
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(4);

      PrefillResult r = backend.prefill(new PrefillRequest("all", prompt(4 * BT, 0, 4), GREEDY));
      assertThat(r.cachedPromptTokens()).isZero();
      assertThat(backend.kvPool().freeBlocks()).isZero();
      r.sequence().close();
      // A transfer's reservation evicts too.
      try (KvReservation all = backend.kvPool().reserve(4)) {
        assertThat(all.blocks()).hasSize(4);
        assertThat(backend.prefixCachedBlocks()).isZero();
      }
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(4);
    }
  }

  @Test
  void sharedBlock_keptAliveWhileASequenceUsesIt_whenAnotherCloses() {
    int[] base = prompt(2 * BT + 3, 2 * BT, 5);
    int[] user = prompt(2 * BT + 7, 2 * BT, 6);
    try (JavaBackend backend = open(8, true); JavaBackend reference = open(8, false)) {
      backend.prefill(new PrefillRequest("base", base, GREEDY)).sequence().close();
      PrefillResult a = backend.prefill(new PrefillRequest("a", user, GREEDY, STEPS));
      PrefillResult b = backend.prefill(new PrefillRequest("b", user, GREEDY, STEPS));
      assertThat(a.cachedPromptTokens()).isEqualTo(2 * BT);
      assertThat(b.cachedPromptTokens()).isEqualTo(2 * BT);
      assertThat(b.sequence().blocks().subList(0, 2)).isEqualTo(a.sequence().blocks().subList(0, 2));
      a.sequence().close();
      assertThat(backend.evictableKvBlocks()).isZero();

      // Take every reservable block (evicting whatever is evictable) and scribble on it.
      List<KvBlock> sharedBlocks = b.sequence().blocks().subList(0, 2);
      try (KvReservation rest = backend.kvPool().reserve(backend.kvPool().freeBlocks())) {
        assertThat(rest.blocks()).doesNotContainAnyElementsOf(sharedBlocks);
        rest.blocks().forEach(block -> block.segment().fill((byte) 0x7f));
        List<SampledToken> got = continueFrom(backend, b.sequence(), b.firstToken());
        b.sequence().close();
        PrefillResult ref = reference.prefill(new PrefillRequest("b", user, GREEDY, STEPS));
        List<SampledToken> expected = continueFrom(reference, ref.sequence(), ref.firstToken());
        ref.sequence().close();
        assertSameGeneration(got, expected);
      }
    }
  }

  @Test
  void cacheOn_closingEverythingAndEvicting_returnsPoolToFull() {
    try (JavaBackend backend = open(32, true)) {
      List<PrefillResult> live = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        live.add(backend.prefill(new PrefillRequest("r" + i, prompt(2 * BT + 4 + i, i < 3 ? 2 * BT : BT, i + 7),
            GREEDY, 4)));
      }
      // A duplicate computed in the same batch as its twin: its blocks are freed, not cached twice.
      live.addAll(backend.prefill(List.of(new PrefillRequest("d1", prompt(3 * BT, 0, 9), GREEDY),
          new PrefillRequest("d2", prompt(3 * BT, 0, 9), GREEDY)), io.disagg.backend.spi.PrefillListener.NONE));
      for (PrefillResult r : live) {
        continueFrom(backend, r.sequence(), r.firstToken());
      }
      live.forEach(r -> r.sequence().close());
      assertThat(backend.prefixCachedBlocks()).isPositive();
      assertThat(backend.evictableKvBlocks()).isEqualTo(backend.prefixCachedBlocks());
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(32);

      assertThat(backend.evictPrefixCache()).isPositive();
      assertThat(backend.prefixCachedBlocks()).isZero();
      assertThat(backend.kvPool().freeBlocks()).isEqualTo(32);
      try (KvReservation all = backend.kvPool().reserve(32)) {
        assertThat(all.blocks()).doesNotHaveDuplicates();
      }
    }
  }

  @Test
  void importedSequence_closed_joinsTheCache() {
    int[] prompt = prompt(2 * BT + 2, 2 * BT, 10);
    try (JavaBackend source = open(8, false); JavaBackend target = open(8, true)) {
      PrefillResult r = source.prefill(new PrefillRequest("a", prompt, GREEDY));
      KvExport export = source.exportKv(r.sequence());
      KvReservation reservation = target.kvPool().reserve(export.blocks().size());
      for (int i = 0; i < export.blocks().size(); i++) {
        MemorySegment.copy(export.blocks().get(i), 0, reservation.blocks().get(i).segment(), 0,
            export.blocks().get(i).byteSize());
      }
      Sequence imported = target.importKv(reservation,
          new KvImport(export.requestId(), export.fingerprint(), export.tokens()));
      r.sequence().close();
      imported.close();
      assertThat(target.prefixCachedBlocks()).isEqualTo(2);

      Run computed = generate(source, "b", prompt(2 * BT + 6, 2 * BT, 11));
      Run reused = generate(target, "b", prompt(2 * BT + 6, 2 * BT, 11));
      assertThat(reused.cachedPromptTokens()).isEqualTo(2 * BT);
      assertSameGeneration(reused.tokens(), computed.tokens());
    }
  }

  @Test
  void prefixCacheOption_invalidValue_refused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> JavaBackend.open(
        BackendConfig.builder(TestModels.stories260K()).option(JavaBackend.PREFIX_CACHE, "maybe").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("java.prefix-cache: maybe");
  }

  @Test
  void unknownJavaOption_refusedNamingTheKnownOnes_otherPrefixesIgnored() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> JavaBackend.open(
        BackendConfig.builder(TestModels.stories260K()).option("java.prefix-cach", "false").build()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("option java.prefix-cach: unknown (expected: one of [java.min-parallel-work, java.prefix-cache])");
    try (JavaBackend backend = JavaBackend.open(BackendConfig.builder(TestModels.stories260K()).kvBlocks(8)
        .option("other.setting", "x").build())) {
      assertThat(backend.prefixCacheEnabled()).isTrue();
    }
  }
}
