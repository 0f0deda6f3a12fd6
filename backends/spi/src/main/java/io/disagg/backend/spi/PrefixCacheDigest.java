package io.disagg.backend.spi;

/**
 * What a backend's prefix cache holds, for routing: the {@link KvBlockHashes} of its cached full blocks.
 *
 * @param version changes (increases) whenever the set of cached blocks changes, so a reader that already holds this
 *     version can skip the hashes; 0 for a backend without a prefix cache
 * @param blockHashes cached block hashes, most recently used first; owned by the caller
 * @param truncated whether more blocks are cached than {@code blockHashes} lists (the least recently used were left
 *     out)
 */
public record PrefixCacheDigest(long version, long[] blockHashes, boolean truncated) {
  /** A backend without a prefix cache. */
  public static final PrefixCacheDigest NONE = new PrefixCacheDigest(0, new long[0], false);

  public PrefixCacheDigest {
    java.util.Objects.requireNonNull(blockHashes, "blockHashes");
    if (version < 0) {
      throw new IllegalArgumentException("version: " + version + " (expected: >= 0)");
    }
  }
}
