package io.disagg.backend.spi;

/**
 * Outcome of prefilling one prompt.
 *
 * @param sequence the sequence now holding the prompt's KV cache; the caller owns it and must close it
 * @param firstToken the first generated token, sampled at position {@code promptTokens}
 * @param cachedPromptTokens prompt tokens whose KV came from a prefix cache instead of being computed
 */
public record PrefillResult(Sequence sequence, SampledToken firstToken, int cachedPromptTokens) {}
