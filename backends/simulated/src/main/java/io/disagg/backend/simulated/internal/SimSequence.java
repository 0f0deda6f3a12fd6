package io.disagg.backend.simulated.internal;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.Sequence;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A simulated sequence: its tokens, its blocks and the reservations that own them (one per growth step, each
 * released on close). Only the backend's compute thread changes it; {@link #close()} may come from any thread.
 */
final class SimSequence implements Sequence {
  private final SimulatedBackend owner;
  private final String requestId;
  private final int promptTokens;
  private int[] tokens;
  private int length;
  private final List<KvBlock> blocks = new ArrayList<>();
  private final List<KvReservation> reservations = new ArrayList<>();
  private boolean closed;

  SimSequence(SimulatedBackend owner, String requestId, int[] tokens, KvReservation reservation) {
    this.owner = owner;
    this.requestId = requestId;
    this.promptTokens = tokens.length;
    this.tokens = Arrays.copyOf(tokens, Math.max(16, tokens.length * 2));
    this.length = tokens.length;
    adopt(reservation);
  }

  SimulatedBackend owner() {
    return owner;
  }

  synchronized void adopt(KvReservation reservation) {
    reservations.add(reservation);
    blocks.addAll(reservation.blocks());
  }

  synchronized void append(int token) {
    if (length == tokens.length) {
      tokens = Arrays.copyOf(tokens, tokens.length * 2);
    }
    tokens[length++] = token;
  }

  synchronized KvBlock block(int index) {
    return blocks.get(index);
  }

  synchronized int blockCount() {
    return blocks.size();
  }

  @Override
  public String requestId() {
    return requestId;
  }

  @Override
  public synchronized int cachedTokens() {
    return length;
  }

  @Override
  public int promptTokens() {
    return promptTokens;
  }

  @Override
  public synchronized int[] tokens() {
    return Arrays.copyOf(tokens, length);
  }

  @Override
  public synchronized List<KvBlock> blocks() {
    return List.copyOf(blocks);
  }

  @Override
  public synchronized boolean isClosed() {
    return closed;
  }

  @Override
  public void close() {
    List<KvReservation> toRelease;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      toRelease = List.copyOf(reservations);
      reservations.clear();
      blocks.clear();
    }
    toRelease.forEach(KvReservation::close);
  }

  @Override
  public String toString() {
    return "SimSequence[" + requestId + ", " + cachedTokens() + " tokens]";
  }
}
