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
 * A sequence's tokens and the KV blocks holding their keys and values. Blocks come from one or more reservations (the
 * first at prefill or import, one more each time decode crosses a block boundary); closing returns them all.
 *
 * <p>The backend marks a sequence busy while it computes on it; a {@link #close()} arriving meanwhile (from a transport
 * thread) is deferred until the computation ends, so blocks are never handed to someone else while being written.
 */
final class JavaSequence implements Sequence {
  private final JavaBackend owner;
  private final String requestId;
  private final int promptTokens;
  private final int blockTokens;
  private final List<KvReservation> reservations = new ArrayList<>();
  private final List<KvBlock> blocks = new ArrayList<>();
  private MemorySegment[] segments = new MemorySegment[0];
  private int[] tokens;
  private int cached;
  private boolean busy;
  private boolean closeRequested;
  private volatile boolean closed;

  JavaSequence(JavaBackend owner, String requestId, int promptTokens, int blockTokens, KvReservation first) {
    this.owner = owner;
    this.requestId = requestId;
    this.promptTokens = promptTokens;
    this.blockTokens = blockTokens;
    this.tokens = new int[Math.max(16, promptTokens)];
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
    reservations.add(reservation);
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
    }
    for (KvReservation r : toFree) {
      r.close();
    }
  }

  @Override
  public String toString() {
    return "JavaSequence[" + requestId + ", " + cachedTokens() + " tokens, " + blocks().size() + " blocks"
        + (isClosed() ? ", closed" : "") + "]";
  }
}
