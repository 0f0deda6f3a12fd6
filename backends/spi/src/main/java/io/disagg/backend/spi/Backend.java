package io.disagg.backend.spi;

import java.util.List;

/**
 * One loaded model on one piece of hardware. Lifecycle: open (through a {@link BackendProvider}) → any number of
 * {@link #prefill}, {@link #decode}, {@link #exportKv}, {@link #importKv} calls → {@link #drain()} → {@link #close()}.
 *
 * <p>Compute methods ({@code prefill}, {@code decode}, {@code exportKv}, {@code importKv}) are called by one thread
 * at a time. {@link #kvPool()} and {@link Sequence#close()} are thread-safe.
 */
public interface Backend extends AutoCloseable {

  ModelInfo model();

  Tokenizer tokenizer();

  /** The pool every sequence's blocks come from; reservations for incoming transfers come from here too. */
  KvBlockPool kvPool();

  /**
   * Prefills a batch of prompts (processing up to the configured token budget together) and samples each one's first
   * token. Either every request succeeds or the call throws and no sequence is left allocated.
   *
   * @param listener told as each layer's KV is complete, for layer-by-layer streaming
   * @throws BackendException {@code RESOURCE_EXHAUSTED} when the pool lacks blocks, {@code CONTEXT_OVERFLOW} when a
   *     prompt is too long, {@code INVALID_ARGUMENT} for token ids outside the vocabulary, {@code UNAVAILABLE} when
   *     draining
   */
  List<PrefillResult> prefill(List<PrefillRequest> requests, PrefillListener listener);

  default PrefillResult prefill(PrefillRequest request) {
    return prefill(List.of(request), PrefillListener.NONE).getFirst();
  }

  /**
   * Runs one decode step over a batch: each slot's input token is appended to its sequence and the next token is
   * sampled. Sequences may differ in length. Results are in slot order.
   *
   * @throws BackendException {@code RESOURCE_EXHAUSTED} when a sequence needs a new block and none is free (no
   *     sequence changes then), {@code CONTEXT_OVERFLOW} when a sequence is at the context length
   */
  List<SampledToken> decode(List<DecodeSlot> batch);

  /** A zero-copy, read-only view of the sequence's KV cache; valid until the sequence is closed. */
  KvExport exportKv(Sequence sequence);

  /**
   * Adopts KV blocks written into {@code reservation} as a new sequence. The reservation's blocks then belong to the
   * sequence (including spare blocks beyond the cached tokens, kept for decode growth).
   *
   * @throws BackendException {@code KV_MISMATCH} when the fingerprint or layout differs from {@link #model()}'s, or
   *     the reservation holds too few blocks; the reservation is left untouched for the caller to close
   */
  Sequence importKv(KvReservation reservation, KvImport header);

  /**
   * The version of {@link #prefixCache(int)}'s contents: it changes whenever the set of cached blocks does, so a
   * caller polling for changes can skip building the digest. 0 (the default) for a backend without a prefix cache.
   * Thread-safe, cheap.
   */
  default long prefixCacheVersion() {
    return 0;
  }

  /**
   * The blocks the backend keeps in its prefix cache, at most {@code maxHashes} of them (most recently used first), so
   * routers can send prompts where their prefix is already computed. The default says the backend keeps none.
   * Thread-safe.
   */
  default PrefixCacheDigest prefixCache(int maxHashes) {
    return PrefixCacheDigest.NONE;
  }

  /** Stops accepting new prefill and import; decode of existing sequences goes on. */
  void drain();

  boolean isDraining();

  /** Frees the KV pool and the model. Sequences still open become invalid. Idempotent. */
  @Override
  void close();
}
