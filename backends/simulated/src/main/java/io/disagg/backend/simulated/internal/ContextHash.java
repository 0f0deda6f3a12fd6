package io.disagg.backend.simulated.internal;

/**
 * The simulator's stand-in for a model's hidden state: a 64-bit running hash of the tokens so far,
 * {@code h(p) = mix(h(p−1) + GOLDEN × (token(p) + 1))} from a seed derived from the model's fingerprint. It is what the
 * simulated KV cache stores (so a KV cache moved between backends carries the state, and a corrupted one changes the
 * continuation) and what the next token is drawn from. Not a language model: the text it produces is meaningless.
 */
final class ContextHash {
  static final long GOLDEN = 0x9E3779B97F4A7C15L;

  private ContextHash() {}

  /** SplitMix64's finaliser (Steele, Lea and Flood, "Fast splittable pseudorandom number generators", 2014). */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  static long next(long previous, int token) {
    return mix(previous + GOLDEN * (token + 1L));
  }

  /** The signature stored for {@code layer}'s keys of a position whose state is {@code h}; layer 0 stores h itself. */
  static long layerSignature(long h, int layer) {
    return layer == 0 ? h : mix(h ^ (GOLDEN * layer));
  }
}
