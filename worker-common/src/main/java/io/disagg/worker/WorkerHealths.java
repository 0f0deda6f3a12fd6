package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import io.disagg.proto.v1.PrefixCacheDigest;
import io.disagg.proto.v1.WorkerHealth;

/** The part of the Health report every worker fills the same way. */
public final class WorkerHealths {
  /**
   * Block hashes one Health answer lists at most: 64 Ki hashes, 512 KiB of fixed64. Sent only when the prefix cache
   * changed since the caller's last answer; a larger cache is cut to its most recently used blocks and marked
   * {@code truncated}.
   */
  public static final int MAX_PREFIX_CACHE_HASHES = 1 << 16;

  private WorkerHealths() {}

  /**
   * A Health report with identity, readiness, model, KV pool, token rate and prefix cache set; the caller adds its
   * queue depth, tokens in flight, running sequences and (decode) kv address.
   *
   * @param knownPrefixCacheVersion the {@code HealthRequest.known_prefix_cache_version}: when the backend's prefix
   *     cache is still at this version, the report leaves its block hashes out ({@code included} false)
   */
  public static WorkerHealth.Builder builder(String workerId, WorkerHealth.Role role, boolean ready, Backend backend,
      RateMeter tokenRate, long knownPrefixCacheVersion) {
    var pool = backend.kvPool();
    var layout = pool.layout();
    return WorkerHealth.newBuilder()
        .setWorkerId(workerId)
        .setRole(role)
        .setReady(ready)
        .setModelFingerprint(backend.model().fingerprint().value())
        .setFreeKvBlocks(pool.freeBlocks())
        .setTotalKvBlocks(pool.totalBlocks())
        .setRecentTokensPerSecond(tokenRate.perSecond())
        .setBlockTokens(layout.blockTokens())
        .setKvBytesPerToken(layout.bytesPerToken())
        .setPrefixCache(prefixCache(backend, knownPrefixCacheVersion));
  }

  private static PrefixCacheDigest prefixCache(Backend backend, long knownVersion) {
    long version = backend.prefixCacheVersion();
    if (version == knownVersion) {
      return PrefixCacheDigest.newBuilder().setVersion(version).build();
    }
    // The digest may be newer than the version read above; its own version matches its hashes.
    io.disagg.backend.spi.PrefixCacheDigest digest = backend.prefixCache(MAX_PREFIX_CACHE_HASHES);
    long[] hashes = digest.blockHashes();
    // the cap holds even for a backend that lists more than asked
    int listed = Math.min(hashes.length, MAX_PREFIX_CACHE_HASHES);
    PrefixCacheDigest.Builder out = PrefixCacheDigest.newBuilder()
        .setVersion(digest.version())
        .setIncluded(true)
        .setTruncated(digest.truncated() || listed < hashes.length);
    for (int i = 0; i < listed; i++) {
      out.addBlockHashes(hashes[i]);
    }
    return out.build();
  }
}
