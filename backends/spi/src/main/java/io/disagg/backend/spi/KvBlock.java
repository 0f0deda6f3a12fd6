package io.disagg.backend.spi;

import java.lang.foreign.MemorySegment;

/**
 * One block of a paged KV cache: {@link KvLayout#blockBytes()} bytes of off-heap memory, laid out as
 * {@link KvLayout} describes. Blocks belong to a {@link KvBlockPool} and are handed out through a
 * {@link KvReservation} or owned by a {@link Sequence}.
 */
public interface KvBlock {

  /** Index of this block in its pool, stable for the pool's lifetime. */
  int index();

  /**
   * The block's memory. The segment stays valid while the pool is open; writing to it is allowed only for whoever
   * holds the block (a reservation being filled, or the backend computing the owning sequence).
   */
  MemorySegment segment();
}
