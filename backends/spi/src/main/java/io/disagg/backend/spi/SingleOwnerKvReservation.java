package io.disagg.backend.spi;

import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The ownership rules of {@link KvReservation} in one place, for pool implementations: the blocks are released exactly
 * once, by {@link #close()} or by whoever holds the reservation {@link #handOver()} returned, and a reservation that
 * was handed over or closed cannot be handed over again. Subclasses say how to release and how to make the successor.
 * Thread-safe.
 */
public abstract class SingleOwnerKvReservation implements KvReservation {
  private final List<KvBlock> blocks;
  private final AtomicBoolean held = new AtomicBoolean(true);

  protected SingleOwnerKvReservation(List<KvBlock> blocks) {
    this.blocks = List.copyOf(blocks);
  }

  /** A new reservation owning the same blocks; called once, by {@link #handOver()}. */
  protected abstract KvReservation successor();

  /** Gives the blocks back; called at most once, by {@link #close()} while still held. */
  protected abstract void release();

  @Override
  public final List<KvBlock> blocks() {
    return blocks;
  }

  @Override
  public final boolean isHeld() {
    return held.get();
  }

  @Override
  public final KvReservation handOver() {
    if (!held.compareAndSet(true, false)) {
      throw new IllegalStateException("reservation already released or handed over");
    }
    return successor();
  }

  @Override
  public final void close() {
    if (held.compareAndSet(true, false)) {
      release();
    }
  }

  @Override
  public String toString() {
    return "KvReservation[" + blocks.size() + " blocks, held=" + held.get() + "]";
  }
}
