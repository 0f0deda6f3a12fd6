package io.disagg.backend.spi;

import java.util.Objects;

/**
 * One prompt to prefill.
 *
 * @param requestId caller's id, kept on the resulting {@link Sequence}
 * @param promptTokens prompt token ids, BOS included when the model wants one; not empty
 * @param sampling how to sample the first generated token
 * @param reserveTokens extra positions to reserve KV room for beyond the prompt (the expected generation length), so
 *     that decode does not run out of blocks half-way; 0 reserves only the prompt
 */
public record PrefillRequest(String requestId, int[] promptTokens, SamplingParams sampling, int reserveTokens) {
  public PrefillRequest {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(promptTokens, "promptTokens");
    if (promptTokens.length == 0) {
      throw new IllegalArgumentException("promptTokens: empty (expected: at least one token)");
    }
    if (reserveTokens < 0) {
      throw new IllegalArgumentException("reserveTokens: " + reserveTokens + " (expected: >= 0)");
    }
    promptTokens = promptTokens.clone();
  }

  public PrefillRequest(String requestId, int[] promptTokens, SamplingParams sampling) {
    this(requestId, promptTokens, sampling, 0);
  }

  @Override
  public int[] promptTokens() {
    return promptTokens.clone();
  }
}
