package io.disagg.backend.spi;

/**
 * Names a full KV block by the token ids that produced it and every block before it, so that equal hashes mean equal
 * whole prefixes (up to 64-bit collisions, which holders guard against by keeping and comparing the tokens):
 * {@code hash(0) = next(ROOT, block 0)}, {@code hash(i) = next(hash(i - 1), block i)}.
 *
 * <p>Backends key their prefix caches with it and publish the hashes they hold ({@link PrefixCacheDigest}); the router
 * computes the same chain from a prompt's token ids to find the worker holding the longest prefix. Both sides must
 * therefore use exactly this function: it is part of the worker API (a change is a wire-format change).
 */
public final class KvBlockHashes {
  /** The parent of the first block. */
  public static final long ROOT = 0x243F6A8885A308D3L;

  private KvBlockHashes() {}

  /**
   * The hash of the block {@code tokens[from, from + blockTokens)} whose preceding block hashes to {@code parent}.
   *
   * @throws IllegalArgumentException if {@code blockTokens < 1}
   * @throws IndexOutOfBoundsException if the block does not lie inside {@code tokens}
   */
  public static long next(long parent, int[] tokens, int from, int blockTokens) {
    if (blockTokens < 1) {
      throw new IllegalArgumentException("blockTokens: " + blockTokens + " (expected: >= 1)");
    }
    java.util.Objects.checkFromIndexSize(from, blockTokens, tokens.length);
    long h = parent * 0x9E3779B97F4A7C15L + blockTokens;
    for (int i = from; i < from + blockTokens; i++) {
      h = (h ^ tokens[i]) * 0xFF51AFD7ED558CCDL;
      h ^= h >>> 33;
    }
    return h;
  }

  /**
   * Hashes of the leading full blocks of {@code tokens}: {@code min(tokens.length / blockTokens, maxBlocks)} of them.
   *
   * @throws IllegalArgumentException if {@code blockTokens < 1} or {@code maxBlocks < 0}
   */
  public static long[] chain(int[] tokens, int blockTokens, int maxBlocks) {
    if (blockTokens < 1) {
      throw new IllegalArgumentException("blockTokens: " + blockTokens + " (expected: >= 1)");
    }
    if (maxBlocks < 0) {
      throw new IllegalArgumentException("maxBlocks: " + maxBlocks + " (expected: >= 0)");
    }
    int blocks = Math.min(tokens.length / blockTokens, maxBlocks);
    long[] hashes = new long[blocks];
    long parent = ROOT;
    for (int b = 0; b < blocks; b++) {
      parent = next(parent, tokens, b * blockTokens, blockTokens);
      hashes[b] = parent;
    }
    return hashes;
  }
}
