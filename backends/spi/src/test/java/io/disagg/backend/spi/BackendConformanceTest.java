package io.disagg.backend.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The behaviour every {@link Backend} adapter must show, whatever its hardware: deterministic greedy decoding,
 * prefill/decode consistency, KV export and import that continues exactly, fingerprint checks, recoverable pool
 * exhaustion without leaks, and the drain/close lifecycle. An adapter's test extends this class and says how to open
 * its backend; every test then runs against it.
 *
 * <p>Prompts are synthetic token ids (valid for any vocabulary of at least 16 tokens) so that the kit does not depend
 * on a tokenizer.
 */
public abstract class BackendConformanceTest {
  private static final int STEPS = 8;
  private final List<Backend> opened = new ArrayList<>();

  /**
   * Opens a fresh backend over the test model with a KV pool of {@code kvBlocks} blocks. Two backends opened by this
   * method must load the same model (so that a KV cache exported from one imports into the other).
   */
  protected abstract Backend openBackend(int kvBlocks);

  /** A backend over a different model with the same shapes, or {@code null} when the adapter has none to offer. */
  protected Backend openOtherModel(int kvBlocks) {
    return null;
  }

  private Backend open(int kvBlocks) {
    Backend b = openBackend(kvBlocks);
    opened.add(b);
    return b;
  }

  @AfterEach
  void closeBackends() {
    opened.forEach(Backend::close);
    opened.clear();
  }

  /** Deterministic token ids in {@code [3, min(vocab, 256))}: never the usual control ids 0, 1 and 2. */
  protected static int[] prompt(Backend backend, int length, int salt) {
    int span = Math.min(backend.model().vocabSize(), 256) - 3;
    int[] ids = new int[length];
    for (int i = 0; i < length; i++) {
      ids[i] = 3 + Math.floorMod(i * 37 + salt * 101 + 11, span);
    }
    return ids;
  }

  private static int blockTokens(Backend backend) {
    return backend.kvPool().layout().blockTokens();
  }

  /** Greedy continuation: the first token from prefill, then {@code steps - 1} decode steps. */
  private static int[] generate(Backend backend, String id, int[] prompt, int steps, SamplingParams sampling) {
    PrefillResult r = backend.prefill(new PrefillRequest(id, prompt, sampling, steps));
    try (Sequence s = r.sequence()) {
      return continueFrom(backend, s, r.firstToken().tokenId(), steps, sampling);
    }
  }

  private static int[] continueFrom(Backend backend, Sequence s, int first, int steps, SamplingParams sampling) {
    int[] out = new int[steps];
    out[0] = first;
    for (int i = 1; i < steps; i++) {
      out[i] = backend.decode(List.of(new DecodeSlot(s, out[i - 1], sampling))).getFirst().tokenId();
    }
    return out;
  }

  @Test
  void greedy_samePromptTwice_sameTokens() {
    Backend backend = open(64);
    int[] prompt = prompt(backend, 12, 1);
    int[] first = generate(backend, "a", prompt, STEPS, SamplingParams.greedy());
    int[] second = generate(backend, "b", prompt, STEPS, SamplingParams.greedy());
    assertThat(second).containsExactly(first);
    assertThat(Arrays.stream(first).boxed().toList())
        .allSatisfy(t -> assertThat(t).isBetween(0, backend.model().vocabSize() - 1));
  }

  @Test
  void seededSampling_sameSeed_sameTokens() {
    Backend backend = open(64);
    int[] prompt = prompt(backend, 9, 2);
    SamplingParams sampling = SamplingParams.of(0.9f, 0.95f, 1234L).withTopK(40);
    int[] first = generate(backend, "a", prompt, STEPS, sampling);
    int[] second = generate(backend, "b", prompt, STEPS, sampling);
    assertThat(second).containsExactly(first);
  }

  @Test
  void prefillThenDecode_equalsPrefillOfLongerPrompt() {
    Backend backend = open(64);
    int[] prompt = prompt(backend, 20, 3);
    PrefillResult r = backend.prefill(new PrefillRequest("a", prompt, SamplingParams.greedy(), 4));
    int t1 = r.firstToken().tokenId();
    int t2 = backend.decode(List.of(new DecodeSlot(r.sequence(), t1, SamplingParams.greedy()))).getFirst().tokenId();
    assertThat(r.sequence().cachedTokens()).isEqualTo(prompt.length + 1);
    r.sequence().close();

    int[] longer = Arrays.copyOf(prompt, prompt.length + 1);
    longer[prompt.length] = t1;
    PrefillResult again = backend.prefill(new PrefillRequest("b", longer, SamplingParams.greedy()));
    assertThat(again.firstToken().tokenId()).isEqualTo(t2);
    again.sequence().close();
  }

  @Test
  void prefill_listenerToldEveryLayerInOrder() {
    Backend backend = open(64);
    List<Integer> layers = new ArrayList<>();
    List<PrefillResult> r = backend.prefill(
        List.of(new PrefillRequest("a", prompt(backend, 5, 4), SamplingParams.greedy())),
        (sequence, layer) -> layers.add(layer));
    int n = backend.model().layers();
    assertThat(layers).containsExactlyElementsOf(java.util.stream.IntStream.range(0, n).boxed().toList());
    r.getFirst().sequence().close();
  }

  @Test
  void exportImport_intoSecondBackend_continuesIdentically() {
    exportImportContinues(SamplingParams.greedy());
  }

  /** Sampling at position p depends on (seed, p) only, so a sampled continuation survives the move too. */
  @Test
  void exportImport_seededSampling_continuesIdentically() {
    exportImportContinues(SamplingParams.of(1.0f, 0.9f, 77L).withPenalties(0.3f, 0.2f));
  }

  private void exportImportContinues(SamplingParams sampling) {
    Backend source = open(64);
    Backend target = open(64);
    int[] prompt = prompt(source, 21, 5); // spans two blocks when blocks hold 16
    int[] uninterrupted = generate(source, "ref", prompt, STEPS, sampling);

    PrefillResult r = source.prefill(new PrefillRequest("x", prompt, sampling));
    KvExport export = source.exportKv(r.sequence());
    assertThat(export.tokenCount()).isEqualTo(prompt.length);
    assertThat(export.tokens()).containsExactly(prompt);
    assertThat(export.blocks()).allSatisfy(b -> assertThat(b.isReadOnly()).isTrue());
    assertThat(export.fingerprint()).isEqualTo(target.model().fingerprint());

    KvReservation reservation = target.kvPool().reserve(export.blocks().size() + 1);
    for (int i = 0; i < export.blocks().size(); i++) {
      MemorySegment.copy(export.blocks().get(i), 0, reservation.blocks().get(i).segment(), 0,
          export.layout().blockBytes());
    }
    Sequence imported = target.importKv(reservation, new KvImport("x", export.fingerprint(), export.tokens()));
    r.sequence().close();
    assertThat(reservation.isHeld()).isFalse();
    assertThat(imported.cachedTokens()).isEqualTo(prompt.length);
    assertThat(imported.tokens()).containsExactly(prompt);

    int[] continued = continueFrom(target, imported, r.firstToken().tokenId(), STEPS, sampling);
    assertThat(continued).containsExactly(uninterrupted);
    imported.close();
    assertThat(target.kvPool().freeBlocks()).isEqualTo(64);
    assertThat(source.kvPool().freeBlocks()).isEqualTo(64);
  }

  @Test
  void import_mismatchedFingerprint_refusedAndReservationKept() {
    Backend backend = open(16);
    ModelFingerprint own = backend.model().fingerprint();
    char flipped = own.modelSha256().charAt(0) == '0' ? '1' : '0';
    ModelFingerprint other = new ModelFingerprint(flipped + own.modelSha256().substring(1), own.layout());
    KvReservation reservation = backend.kvPool().reserve(1);
    assertThatThrownBy(() -> backend.importKv(reservation, new KvImport("x", other, new int[] {3, 4})))
        .isInstanceOfSatisfying(BackendException.class, e -> {
          assertThat(e.code()).isEqualTo(BackendException.Code.KV_MISMATCH);
          assertThat(e.getMessage()).contains(other.value()).contains(own.value());
        });
    assertThat(reservation.isHeld()).isTrue();
    reservation.close();
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(16);
  }

  @Test
  void import_mismatchedLayout_refused() {
    Backend backend = open(16);
    ModelFingerprint own = backend.model().fingerprint();
    KvLayout l = own.layout();
    ModelFingerprint other = new ModelFingerprint(own.modelSha256(),
        new KvLayout(l.layers(), l.kvHeads(), l.headDim(), l.dtype(), l.blockTokens() * 2));
    try (KvReservation reservation = backend.kvPool().reserve(1)) {
      assertThatThrownBy(() -> backend.importKv(reservation, new KvImport("x", other, new int[] {3})))
          .isInstanceOfSatisfying(BackendException.class,
              e -> assertThat(e.code()).isEqualTo(BackendException.Code.KV_MISMATCH));
      assertThat(reservation.isHeld()).isTrue();
    }
  }

  @Test
  void import_otherModelWithSameShapes_refused() {
    Backend other = openOtherModel(16);
    if (other == null) {
      return;
    }
    opened.add(other);
    Backend backend = open(16);
    assertThat(other.model().kvLayout()).isEqualTo(backend.model().kvLayout());
    PrefillResult r = other.prefill(new PrefillRequest("x", prompt(other, 4, 6), SamplingParams.greedy()));
    KvExport export = other.exportKv(r.sequence());
    try (KvReservation reservation = backend.kvPool().reserve(export.blocks().size())) {
      assertThatThrownBy(() -> backend.importKv(reservation,
          new KvImport("x", export.fingerprint(), export.tokens())))
          .isInstanceOfSatisfying(BackendException.class,
              e -> assertThat(e.code()).isEqualTo(BackendException.Code.KV_MISMATCH));
    }
    r.sequence().close();
  }

  @Test
  void prefill_poolExhausted_recoverableAndLeakFree() {
    Backend backend = open(2);
    int bt = blockTokens(backend);
    int[] tooLong = prompt(backend, 2 * bt + 1, 7);
    assertThatThrownBy(() -> backend.prefill(new PrefillRequest("x", tooLong, SamplingParams.greedy())))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.RESOURCE_EXHAUSTED));
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(2);
    // All-or-nothing across a batch: the first request fits, the second does not; nothing stays allocated.
    assertThatThrownBy(() -> backend.prefill(List.of(
        new PrefillRequest("a", prompt(backend, bt, 8), SamplingParams.greedy()),
        new PrefillRequest("b", prompt(backend, bt + 1, 9), SamplingParams.greedy())), PrefillListener.NONE))
        .isInstanceOf(KvPoolExhaustedException.class);
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(2);

    PrefillResult ok = backend.prefill(new PrefillRequest("y", prompt(backend, 2 * bt, 7), SamplingParams.greedy()));
    assertThat(backend.kvPool().freeBlocks()).isZero();
    ok.sequence().close();
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(2);
  }

  @Test
  void decode_poolExhausted_sequenceUnchangedAndRecovers() {
    Backend backend = open(3);
    int bt = blockTokens(backend);
    PrefillResult full = backend.prefill(new PrefillRequest("a", prompt(backend, 2 * bt, 10),
        SamplingParams.greedy()));
    PrefillResult other = backend.prefill(new PrefillRequest("b", prompt(backend, 1, 11), SamplingParams.greedy()));
    assertThat(backend.kvPool().freeBlocks()).isZero();
    Sequence s = full.sequence();
    int token = full.firstToken().tokenId();
    assertThatThrownBy(() -> backend.decode(List.of(new DecodeSlot(s, token, SamplingParams.greedy()))))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.RESOURCE_EXHAUSTED));
    assertThat(s.cachedTokens()).isEqualTo(2 * bt);
    assertThat(s.blocks()).hasSize(2);

    other.sequence().close();
    SampledToken next = backend.decode(List.of(new DecodeSlot(s, token, SamplingParams.greedy()))).getFirst();
    assertThat(s.cachedTokens()).isEqualTo(2 * bt + 1);

    // The retried step gives what an unconstrained backend gives.
    Backend roomy = open(8);
    PrefillResult ref = roomy.prefill(new PrefillRequest("a", prompt(roomy, 2 * bt, 10), SamplingParams.greedy()));
    assertThat(roomy.decode(List.of(new DecodeSlot(ref.sequence(), token, SamplingParams.greedy()))).getFirst()
        .tokenId()).isEqualTo(next.tokenId());
    ref.sequence().close();
    s.close();
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(3);
  }

  @Test
  void sequenceClose_freesBlocksOnceAndRefusesFurtherUse() {
    Backend backend = open(16);
    int bt = blockTokens(backend);
    PrefillResult r = backend.prefill(new PrefillRequest("a", prompt(backend, bt + 1, 12), SamplingParams.greedy(),
        bt));
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(16 - 3);
    r.sequence().close();
    r.sequence().close();
    assertThat(r.sequence().isClosed()).isTrue();
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(16);
    assertThatThrownBy(() -> backend.decode(List.of(
        new DecodeSlot(r.sequence(), r.firstToken().tokenId(), SamplingParams.greedy()))))
        .isInstanceOf(BackendException.class);
    assertThatThrownBy(() -> backend.exportKv(r.sequence())).isInstanceOf(BackendException.class);
  }

  @Test
  void invalidInput_refusedWithCodes() {
    Backend backend = open(8);
    int vocab = backend.model().vocabSize();
    assertThatThrownBy(() -> backend.prefill(new PrefillRequest("a", new int[] {1, vocab}, SamplingParams.greedy())))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.INVALID_ARGUMENT));
    assertThatThrownBy(() -> backend.prefill(new PrefillRequest("a", new int[] {-1}, SamplingParams.greedy())))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.INVALID_ARGUMENT));
    int[] huge = prompt(backend, backend.model().contextLength() + 1, 13);
    assertThatThrownBy(() -> backend.prefill(new PrefillRequest("a", huge, SamplingParams.greedy())))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.CONTEXT_OVERFLOW));
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(8);
  }

  @Test
  void abortDrainClose_lifecycle() {
    Backend backend = open(16);
    PrefillResult keep = backend.prefill(new PrefillRequest("keep", prompt(backend, 4, 14), SamplingParams.greedy()));
    PrefillResult abort = backend.prefill(new PrefillRequest("abort", prompt(backend, 4, 15),
        SamplingParams.greedy()));
    abort.sequence().close(); // aborting a request is closing its sequence

    backend.drain();
    assertThat(backend.isDraining()).isTrue();
    assertThatThrownBy(() -> backend.prefill(new PrefillRequest("new", prompt(backend, 4, 16),
        SamplingParams.greedy())))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.UNAVAILABLE));
    try (KvReservation reservation = backend.kvPool().reserve(1)) {
      assertThatThrownBy(() -> backend.importKv(reservation,
          new KvImport("new", backend.model().fingerprint(), new int[] {3})))
          .isInstanceOfSatisfying(BackendException.class,
              e -> assertThat(e.code()).isEqualTo(BackendException.Code.UNAVAILABLE));
    }
    // Existing sequences keep decoding while draining.
    SampledToken t = backend.decode(List.of(new DecodeSlot(keep.sequence(), keep.firstToken().tokenId(),
        SamplingParams.greedy()))).getFirst();
    assertThat(t.tokenId()).isBetween(0, backend.model().vocabSize() - 1);
    keep.sequence().close();
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(16);

    backend.close();
    backend.close();
    assertThatThrownBy(() -> backend.prefill(new PrefillRequest("late", prompt(backend, 4, 17),
        SamplingParams.greedy())))
        .isInstanceOfSatisfying(BackendException.class,
            e -> assertThat(e.code()).isEqualTo(BackendException.Code.UNAVAILABLE));
  }

  @Test
  void batchDecode_sequencesOfDifferentLengths_equalsOneAtATime() {
    Backend backend = open(64);
    int[][] prompts = {prompt(backend, 3, 18), prompt(backend, 17, 19), prompt(backend, 9, 20)};
    int[][] alone = new int[prompts.length][];
    for (int i = 0; i < prompts.length; i++) {
      alone[i] = generate(backend, "alone" + i, prompts[i], STEPS, SamplingParams.greedy());
    }
    List<PrefillResult> started = new ArrayList<>();
    for (int i = 0; i < prompts.length; i++) {
      started.add(backend.prefill(new PrefillRequest("batch" + i, prompts[i], SamplingParams.greedy(), STEPS)));
    }
    int[][] batched = new int[prompts.length][STEPS];
    for (int i = 0; i < prompts.length; i++) {
      batched[i][0] = started.get(i).firstToken().tokenId();
    }
    for (int step = 1; step < STEPS; step++) {
      List<DecodeSlot> slots = new ArrayList<>();
      for (int i = 0; i < prompts.length; i++) {
        slots.add(new DecodeSlot(started.get(i).sequence(), batched[i][step - 1], SamplingParams.greedy()));
      }
      List<SampledToken> out = backend.decode(slots);
      for (int i = 0; i < prompts.length; i++) {
        batched[i][step] = out.get(i).tokenId();
      }
    }
    for (int i = 0; i < prompts.length; i++) {
      assertThat(batched[i]).as("sequence %d", i).containsExactly(alone[i]);
      started.get(i).sequence().close();
    }
    assertThat(backend.kvPool().freeBlocks()).isEqualTo(64);
  }

  @Test
  void batchPrefill_equalsOneAtATime() {
    Backend backend = open(64);
    int[][] prompts = {prompt(backend, 5, 21), prompt(backend, 30, 22)};
    List<PrefillRequest> requests = new ArrayList<>();
    int[] alone = new int[prompts.length];
    for (int i = 0; i < prompts.length; i++) {
      PrefillResult r = backend.prefill(new PrefillRequest("alone" + i, prompts[i], SamplingParams.greedy()));
      alone[i] = r.firstToken().tokenId();
      r.sequence().close();
      requests.add(new PrefillRequest("batch" + i, prompts[i], SamplingParams.greedy()));
    }
    List<PrefillResult> batch = backend.prefill(requests, PrefillListener.NONE);
    for (int i = 0; i < prompts.length; i++) {
      assertThat(batch.get(i).firstToken().tokenId()).isEqualTo(alone[i]);
      assertThat(batch.get(i).sequence().cachedTokens()).isEqualTo(prompts[i].length);
      batch.get(i).sequence().close();
    }
  }

  @Test
  void logprobs_reportedAndConsistentWithGreedy() {
    Backend backend = open(16);
    SamplingParams params = SamplingParams.greedy().withLogprobs(true, 5);
    PrefillResult r = backend.prefill(new PrefillRequest("a", prompt(backend, 6, 23), params));
    SampledToken t = r.firstToken();
    assertThat(t.logprob()).isLessThanOrEqualTo(0f);
    assertThat(t.top()).hasSize(5);
    assertThat(t.top().getFirst().tokenId()).isEqualTo(t.tokenId());
    assertThat(t.top().getFirst().logprob()).isEqualTo(t.logprob());
    for (int i = 1; i < t.top().size(); i++) {
      assertThat(t.top().get(i).logprob()).isLessThanOrEqualTo(t.top().get(i - 1).logprob());
    }
    r.sequence().close();
  }

  /** Reads one float of a block, for adapters' own layout checks. */
  protected static float kvFloat(MemorySegment block, long offset) {
    return block.get(ValueLayout.JAVA_FLOAT_UNALIGNED, offset);
  }
}
