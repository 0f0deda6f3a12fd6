package io.disagg.backend.spi;

import java.util.List;

/**
 * Blocks taken from a {@link KvBlockPool} and not yet owned by a sequence. A transport fills them; then
 * {@link Backend#importKv} turns them into a {@link Sequence}. Closing a reservation that was not imported returns its
 * blocks to the pool; closing it again, or after import, does nothing. Thread-safe.
 */
public interface KvReservation extends AutoCloseable {

  /** The reserved blocks, in cache order. */
  List<KvBlock> blocks();

  /** Whether the blocks are still held by this reservation (not yet imported or released). */
  boolean isHeld();

  /**
   * Moves the blocks to a new reservation (for example to the sequence that adopts them on import) and leaves this
   * one empty, so that closing this one afterwards frees nothing.
   *
   * @throws IllegalStateException if the blocks were already released or handed over
   */
  KvReservation handOver();

  /** Returns the blocks to the pool unless they were imported. Idempotent. */
  @Override
  void close();
}
