package io.disagg.backend.spi.internal;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvPoolExhaustedException;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.SingleOwnerKvReservation;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/** A fixed set of blocks carved from one shared-arena allocation; a free list under a lock hands them out. */
public final class OffHeapKvBlockPool implements KvBlockPool {
  private static final long ALIGNMENT = 64;

  private final KvLayout layout;
  private final Arena arena;
  private final List<Block> blocks;
  private final ArrayDeque<Block> free;
  private boolean closed;

  public OffHeapKvBlockPool(KvLayout layout, int blockCount) {
    if (blockCount <= 0) {
      throw new IllegalArgumentException("blocks: " + blockCount + " (expected: > 0)");
    }
    this.layout = layout;
    this.arena = Arena.ofShared();
    long blockBytes = layout.blockBytes();
    MemorySegment all = arena.allocate(blockBytes * blockCount, ALIGNMENT);
    List<Block> list = new ArrayList<>(blockCount);
    for (int i = 0; i < blockCount; i++) {
      list.add(new Block(i, all.asSlice(i * blockBytes, blockBytes)));
    }
    this.blocks = List.copyOf(list);
    this.free = new ArrayDeque<>(list);
  }

  @Override
  public KvLayout layout() {
    return layout;
  }

  @Override
  public int totalBlocks() {
    return blocks.size();
  }

  @Override
  public synchronized int freeBlocks() {
    return free.size();
  }

  @Override
  public KvReservation reserve(int count) {
    if (count < 0) {
      throw new IllegalArgumentException("blocks: " + count + " (expected: >= 0)");
    }
    List<KvBlock> taken = new ArrayList<>(count);
    synchronized (this) {
      if (closed) {
        throw new IllegalStateException("KV pool is closed");
      }
      if (free.size() < count) {
        throw new KvPoolExhaustedException(count, free.size(), blocks.size());
      }
      for (int i = 0; i < count; i++) {
        taken.add(free.poll());
      }
    }
    return new Reservation(taken);
  }

  synchronized void release(List<KvBlock> returned) {
    if (closed) {
      return;
    }
    for (KvBlock block : returned) {
      Block b = (Block) block;
      if (blocks.get(b.index) != b) {
        throw new IllegalArgumentException("block " + b.index + " does not belong to this pool");
      }
      free.push(b);
    }
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      free.clear();
    }
    arena.close();
  }

  private record Block(int index, MemorySegment segment) implements KvBlock {}

  private final class Reservation extends SingleOwnerKvReservation {
    Reservation(List<KvBlock> blocks) {
      super(blocks);
    }

    @Override
    protected KvReservation successor() {
      return new Reservation(blocks());
    }

    @Override
    protected void release() {
      OffHeapKvBlockPool.this.release(blocks());
    }
  }

}
