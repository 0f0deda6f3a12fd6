package io.disagg.loadtest.internal;

/**
 * One request to send.
 *
 * @param inputTokens target prompt length
 * @param outputTokens target generation length, sent as {@code max_tokens}
 * @param traceOffsetSeconds arrival offset from the trace start, or {@code -1} when not from a trace
 */
public record WorkItem(int inputTokens, int outputTokens, double traceOffsetSeconds) {

    public WorkItem {
        if (inputTokens < 1 || outputTokens < 1) {
            throw new IllegalArgumentException("tokens: in %d, out %d (expected: >= 1)"
                    .formatted(inputTokens, outputTokens));
        }
    }
}
