package io.disagg.backend.spi;

import io.disagg.backend.spi.internal.OffHeapKvBlockPool;

/** Factories for {@link KvBlockPool}s. */
public final class KvBlockPools {
  private KvBlockPools() {}

  /**
   * A pool of {@code blocks} blocks of off-heap memory owned by one shared {@link java.lang.foreign.Arena}, allocated
   * up front so that running out is a clear error rather than an out-of-memory crash later.
   */
  public static KvBlockPool offHeap(KvLayout layout, int blocks) {
    return new OffHeapKvBlockPool(layout, blocks);
  }
}
