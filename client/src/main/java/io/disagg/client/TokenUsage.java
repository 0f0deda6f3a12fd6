package io.disagg.client;

import io.disagg.proto.v1.Usage;

/**
 * Token counts the router reported for one request.
 *
 * @param promptTokens tokens in the prompt as the model saw it
 * @param completionTokens tokens generated
 * @param cachedPromptTokens prompt tokens whose KV came from a prefix cache
 */
public record TokenUsage(int promptTokens, int completionTokens, int cachedPromptTokens) {

    /** No usage reported (the router sends usage only on the final message). */
    public static final TokenUsage NONE = new TokenUsage(0, 0, 0);

    public TokenUsage {
        if (promptTokens < 0 || completionTokens < 0 || cachedPromptTokens < 0) {
            throw new IllegalArgumentException("usage: %d/%d/%d (expected: >= 0)"
                    .formatted(promptTokens, completionTokens, cachedPromptTokens));
        }
    }

    /** Converts the wire form; uint32 counts above {@code Integer.MAX_VALUE} cannot occur for a real context. */
    public static TokenUsage fromProto(Usage usage) {
        return new TokenUsage(usage.getPromptTokens(), usage.getCompletionTokens(), usage.getCachedPromptTokens());
    }

    public int totalTokens() {
        return promptTokens + completionTokens;
    }
}
