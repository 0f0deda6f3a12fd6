package io.disagg.backend.spi;

/**
 * A bounded pool of equally sized KV blocks. Every reservation is all-or-nothing: either all blocks asked for are
 * handed out or {@link KvPoolExhaustedException} is thrown and nothing changes. Thread-safe.
 */
public interface KvBlockPool extends AutoCloseable {

  /** Layout of every block in this pool. */
  KvLayout layout();

  int totalBlocks();

  int freeBlocks();

  /**
   * Reserves {@code blocks} blocks.
   *
   * @throws KvPoolExhaustedException if fewer are free; nothing is reserved then
   * @throws IllegalArgumentException if {@code blocks} is negative
   */
  KvReservation reserve(int blocks);

  /** Frees the pool's memory. Blocks still handed out become invalid. */
  @Override
  void close();
}
