package io.disagg.kv.testing;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.SplittableRandom;

/** Layouts, fingerprints and random KV contents for tests; no engine involved. */
public final class TestKv {
  private TestKv() {}

  public static final byte[] SECRET = "kv-transfer-test-secret-0123456789".getBytes();
  /** 2 layers x 2 heads x 8 dims x F32 x 4 tokens: 1 KiB blocks, small enough for thousands of fuzz inputs. */
  public static final KvLayout SMALL = new KvLayout(2, 2, 8, KvDtype.F32, 4);
  /** 4 layers x 4 heads x 64 dims x F32 x 32 tokens: 256 KiB blocks, for size and throughput tests. */
  public static final KvLayout LARGE = new KvLayout(4, 4, 64, KvDtype.F32, 32);

  public static ModelFingerprint fingerprint(KvLayout layout) {
    return new ModelFingerprint("ab".repeat(32), layout);
  }

  public static ModelFingerprint otherModel(KvLayout layout) {
    return new ModelFingerprint("cd".repeat(32), layout);
  }

  /** Fills every block of {@code r} with random bytes from {@code seed}. */
  public static void fillRandom(KvReservation r, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    for (KvBlock b : r.blocks()) {
      MemorySegment s = b.segment();
      long n = s.byteSize() / 8;
      for (long i = 0; i < n; i++) {
        s.setAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, i, random.nextLong());
      }
    }
  }

  /** An export of {@code r}'s blocks holding {@code tokens} tokens (ids 0..tokens-1). */
  public static KvExport export(String requestId, KvLayout layout, KvReservation r, int tokens) {
    int[] ids = new int[tokens];
    for (int i = 0; i < tokens; i++) {
      ids[i] = i % 32000;
    }
    List<MemorySegment> segments = r.blocks().stream().map(b -> b.segment().asReadOnly()).toList();
    return new KvExport(requestId, fingerprint(layout), tokens, ids, segments);
  }

  /** Reserves the blocks for {@code tokens} tokens from {@code pool} and fills them randomly. */
  public static KvReservation randomCache(KvBlockPool pool, int tokens, long seed) {
    KvReservation r = pool.reserve(pool.layout().blocksFor(tokens));
    fillRandom(r, seed);
    return r;
  }

  /** Whether the two reservations hold byte-identical blocks. */
  public static boolean sameContents(KvReservation a, KvReservation b) {
    if (a.blocks().size() != b.blocks().size()) {
      return false;
    }
    for (int i = 0; i < a.blocks().size(); i++) {
      MemorySegment x = a.blocks().get(i).segment();
      MemorySegment y = b.blocks().get(i).segment();
      if (x.byteSize() != y.byteSize() || x.mismatch(y) != -1) {
        return false;
      }
    }
    return true;
  }
}
