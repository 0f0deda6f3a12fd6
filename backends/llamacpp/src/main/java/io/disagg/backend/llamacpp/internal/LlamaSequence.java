package io.disagg.backend.llamacpp.internal;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.Sequence;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.IntConsumer;

/**
 * One llama.cpp sequence id in the backend's context, plus the SPI blocks accounted to it. The keys and values live
 * in llama.cpp's own cache while the sequence computes; the blocks are its share of the SPI pool (so pool accounting
 * bounds the cells llama.cpp uses) and the place {@code exportKv} writes the cache in the SPI layout. Closing returns
 * the blocks at once and hands the sequence id back to the backend, which clears its cells on its compute thread.
 * Mutated only by the backend's compute thread; {@link #close()} is thread-safe and idempotent.
 */
final class LlamaSequence implements Sequence {
  private final String requestId;
  private final int seqId;
  private final int promptTokens;
  private final List<KvReservation> reservations = new ArrayList<>();
  private final List<KvBlock> blocks = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final IntConsumer onClose;
  private final Object owner;
  private int[] tokens;
  private volatile int cached;

  LlamaSequence(Object owner, String requestId, int seqId, int[] tokens, int cached, int promptTokens,
      KvReservation reservation, IntConsumer onClose) {
    this.owner = owner;
    this.requestId = requestId;
    this.seqId = seqId;
    this.tokens = Arrays.copyOf(tokens, Math.max(tokens.length, 16));
    this.cached = cached;
    this.promptTokens = promptTokens;
    this.onClose = onClose;
    grow(reservation);
  }

  boolean ownedBy(Object backend) {
    return owner == backend;
  }

  int seqId() {
    return seqId;
  }

  /** Adds blocks (taken over from {@code reservation}, which the sequence now closes). */
  synchronized void grow(KvReservation reservation) {
    reservations.add(reservation);
    blocks.addAll(reservation.blocks());
  }

  synchronized int blockCount() {
    return blocks.size();
  }

  /** Records the KV of {@code token} at position {@link #cachedTokens()}. */
  void append(int token) {
    if (cached == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[cached] = token;
    cached++;
  }

  /** Forgets positions from {@code length} on (after a failed step). */
  void truncate(int length) {
    cached = length;
  }

  /** The tokens the sequence generated: everything after the prompt. */
  int[] generatedTokens() {
    return Arrays.copyOfRange(tokens, promptTokens, cached);
  }

  @Override
  public String requestId() {
    return requestId;
  }

  @Override
  public int cachedTokens() {
    return cached;
  }

  @Override
  public int promptTokens() {
    return promptTokens;
  }

  @Override
  public int[] tokens() {
    return Arrays.copyOf(tokens, cached);
  }

  @Override
  public synchronized List<KvBlock> blocks() {
    return List.copyOf(blocks);
  }

  @Override
  public boolean isClosed() {
    return closed.get();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      synchronized (this) {
        reservations.forEach(KvReservation::close);
      }
      onClose.accept(seqId);
    }
  }

  @Override
  public String toString() {
    return "LlamaSequence[" + requestId + ", seq " + seqId + ", " + cached + " tokens]";
  }
}
