package io.disagg.backend.spi;

import java.util.Objects;

/**
 * One sequence's place in a batched decode step: feed {@code inputToken} at position
 * {@link Sequence#cachedTokens()}, append its keys and values to the cache, and sample the next token.
 */
public record DecodeSlot(Sequence sequence, int inputToken, SamplingParams sampling) {
  public DecodeSlot {
    Objects.requireNonNull(sequence, "sequence");
    Objects.requireNonNull(sampling, "sampling");
  }
}
