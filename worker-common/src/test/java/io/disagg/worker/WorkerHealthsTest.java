package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefixCacheDigest;
import io.disagg.proto.v1.WorkerHealth;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.Optional;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkerHealthsTest {
  private static final KvLayout LAYOUT = new KvLayout(2, 1, 4, KvDtype.F32, 16);
  private static final ModelInfo MODEL = new ModelInfo("m", "llama", 2, 8, 2, 1, 4, 16, 32, 128, 1, 1,
      new ModelFingerprint("ab".repeat(32), LAYOUT), Optional.empty());

  private final KvBlockPool pool = KvBlockPools.offHeap(LAYOUT, 10);
  private final RateMeter rate = new RateMeter(() -> Instant.EPOCH, 10);
  /** What the backend's prefix cache holds; the test changes it. */
  private PrefixCacheDigest cache = PrefixCacheDigest.NONE;
  private int digestsBuilt;
  private int lastMaxHashes;

  /** A backend answering only what a Health report reads. */
  private final Backend backend = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
      new Class<?>[] {Backend.class}, (proxy, method, args) -> switch (method.getName()) {
        case "kvPool" -> pool;
        case "model" -> MODEL;
        case "prefixCacheVersion" -> cache.version();
        case "prefixCache" -> {
          digestsBuilt++;
          lastMaxHashes = (int) args[0];
          yield cache;
        }
        default -> throw new UnsupportedOperationException(method.getName());
      });

  @AfterEach
  void closePool() {
    pool.close();
  }

  private WorkerHealth health(long knownVersion) {
    return WorkerHealths.builder("w1", WorkerHealth.Role.ROLE_DECODE, true, backend, rate, knownVersion).build();
  }

  @Test
  void newVersion_listsTheHashesInOrderWithTheVersion() {
    cache = new PrefixCacheDigest(7, new long[] {3, -1, 42}, false);

    io.disagg.proto.v1.PrefixCacheDigest digest = health(0).getPrefixCache();

    assertThat(digest.getVersion()).isEqualTo(7);
    assertThat(digest.getIncluded()).isTrue();
    assertThat(digest.getBlockHashesList()).containsExactly(3L, -1L, 42L);
    assertThat(digest.getTruncated()).isFalse();
    assertThat(lastMaxHashes).isEqualTo(WorkerHealths.MAX_PREFIX_CACHE_HASHES);
  }

  @Test
  void versionTheCallerKnows_leavesTheHashesOutWithoutBuildingThem() {
    cache = new PrefixCacheDigest(7, new long[] {3, 4}, false);

    io.disagg.proto.v1.PrefixCacheDigest digest = health(7).getPrefixCache();

    assertThat(digest.getVersion()).isEqualTo(7);
    assertThat(digest.getIncluded()).isFalse();
    assertThat(digest.getBlockHashesList()).isEmpty();
    assertThat(digestsBuilt).isZero();

    cache = new PrefixCacheDigest(8, new long[] {5, 3, 4}, false);
    assertThat(health(7).getPrefixCache().getBlockHashesList()).containsExactly(5L, 3L, 4L);
  }

  @Test
  void truncatedDigest_staysMarked_andAnOverlongOneIsCutToTheCap() {
    cache = new PrefixCacheDigest(2, new long[] {1, 2}, true);
    assertThat(health(1).getPrefixCache().getTruncated()).isTrue();

    cache = new PrefixCacheDigest(3, LongStream.range(0, WorkerHealths.MAX_PREFIX_CACHE_HASHES + 5).toArray(), false);
    io.disagg.proto.v1.PrefixCacheDigest digest = health(2).getPrefixCache();

    assertThat(digest.getBlockHashesCount()).isEqualTo(WorkerHealths.MAX_PREFIX_CACHE_HASHES);
    assertThat(digest.getBlockHashes(0)).isZero();
    assertThat(digest.getTruncated()).isTrue();
  }

  @Test
  void backendWithoutPrefixCache_reportsVersionZeroAndNoHashes() {
    WorkerHealth health = health(0);

    assertThat(health.getPrefixCache().getVersion()).isZero();
    assertThat(health.getPrefixCache().getBlockHashesList()).isEmpty();
    assertThat(health.getFreeKvBlocks()).isEqualTo(10);
    assertThat(health.getModelFingerprint()).isEqualTo(MODEL.fingerprint().value());
  }
}
