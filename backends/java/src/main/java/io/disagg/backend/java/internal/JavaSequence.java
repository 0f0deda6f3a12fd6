package io.disagg.backend.java.internal;

import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.Sequence;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A sequence's tokens and the KV blocks holding their keys and values. The first blocks may be shared with other
 * sequences through the prefix cache ({@link PrefixCachingKvPool.Entry}, read-only: they are full); the rest come from
 * one or more reservations (the first at prefill or import, one more each time decode crosses a block boundary),
 * kept as one-block parts when they come from the backend's pool. Closing hands them all to
 * {@link PrefixCachingKvPool#retire}, which caches the full ones and frees the others.
 *
 * <p>The backend marks a sequence busy while it computes on it; a {@link #close()} arriving meanwhile (from a transport
 * thread) is deferred until the computation ends, so blocks are never handed to someone else while being written.
 */
final class JavaSequence implements Sequence {
  private final JavaBackend owner;
  private final String requestId;
  private final int promptTokens;
  private final int blockTokens;
  private final PrefixCachingKvPool pool;
  private final List<PrefixCachingKvPool.Entry> shared;
  private final List<KvReservation> reservations = new ArrayList<>();
  private final List<KvBlock> blocks = new ArrayList<>();
  private MemorySegment[] segments = new MemorySegment[0];
  private int[] tokens;
  private int cached;
  private boolean busy;
  private boolean closeRequested;
  private volatile boolean closed;

  /**
   * @param shared cached entries holding the first blocks, each already counted as used by this sequence (which gives
   *     them back on close)
   * @param first the sequence's own blocks after {@code shared}; this sequence now owns it
   */
  JavaSequence(JavaBackend owner, PrefixCachingKvPool pool, String requestId, int promptTokens, int blockTokens,
      List<PrefixCachingKvPool.Entry> shared, KvReservation first) {
    this.owner = owner;
    this.pool = pool;
    this.requestId = requestId;
    this.promptTokens = promptTokens;
    this.blockTokens = blockTokens;
    this.shared = List.copyOf(shared);
    this.tokens = new int[Math.max(16, promptTokens)];
    for (PrefixCachingKvPool.Entry e : this.shared) {
      blocks.add(e.block());
    }
    addBlocks(first);
  }

  JavaBackend owner() {
    return owner;
  }

  @Override
  public String requestId() {
    return requestId;
  }

  @Override
  public synchronized int cachedTokens() {
    return cached;
  }

  @Override
  public int promptTokens() {
    return promptTokens;
  }

  @Override
  public synchronized int[] tokens() {
    return Arrays.copyOf(tokens, cached);
  }

  @Override
  public synchronized List<KvBlock> blocks() {
    return List.copyOf(blocks);
  }

  @Override
  public boolean isClosed() {
    return closed || closeRequested;
  }

  /** Token positions the blocks can hold. */
  synchronized int capacity() {
    return blocks.size() * blockTokens;
  }

  synchronized void addBlocks(KvReservation reservation) {
    if (reservation instanceof PrefixCachingKvPool.Held held && held.from(pool)) {
      reservations.addAll(held.parts());
    } else {
      reservations.add(reservation);
    }
    blocks.addAll(reservation.blocks());
    segments = blocks.stream().map(KvBlock::segment).toArray(MemorySegment[]::new);
  }

  /** Block segments in order, for the forward pass. */
  synchronized MemorySegment[] segments() {
    return segments;
  }

  /** Records tokens whose keys and values the forward pass has just written. */
  synchronized void append(int[] ids, int from, int count) {
    if (cached + count > tokens.length) {
      tokens = Arrays.copyOf(tokens, Math.max(tokens.length * 2, cached + count));
    }
    System.arraycopy(ids, from, tokens, cached, count);
    cached += count;
  }

  /** The tokens fed back after the prompt: what presence and frequency penalties look at. */
  synchronized int[] generatedTokens() {
    return Arrays.copyOfRange(tokens, Math.min(promptTokens, cached), cached);
  }

  /**
   * Marks the sequence as being computed on.
   *
   * @throws BackendException {@code INVALID_ARGUMENT} if it is closed
   */
  synchronized void acquire() {
    if (closed || closeRequested) {
      throw new BackendException(BackendException.Code.INVALID_ARGUMENT, "sequence " + requestId + " is closed");
    }
    busy = true;
  }

  /** Ends a computation; performs a close requested meanwhile. */
  void releaseCompute() {
    boolean closeNow;
    synchronized (this) {
      busy = false;
      closeNow = closeRequested && !closed;
    }
    if (closeNow) {
      close();
    }
  }

  @Override
  public void close() {
    List<KvReservation> toFree;
    int[] written;
    synchronized (this) {
      if (closed) {
        return;
      }
      if (busy) {
        closeRequested = true;
        return;
      }
      closed = true;
      toFree = List.copyOf(reservations);
      written = Arrays.copyOf(tokens, cached);
    }
    pool.retire(shared, toFree, written);
  }

  @Override
  public String toString() {
    return "JavaSequence[" + requestId + ", " + cachedTokens() + " tokens, " + blocks().size() + " blocks"
        + (isClosed() ? ", closed" : "") + "]";
  }
}
