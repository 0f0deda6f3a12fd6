package io.disagg.loadtest.internal;

/**
 * What the generator observed for one request; times are ticker nanoseconds.
 *
 * @param index order of issue, 0-based
 * @param warmup sent during warm-up, so excluded from statistics
 * @param sendNanos when the request was sent
 * @param firstTokenNanos when the first token-carrying chunk arrived; {@code -1} if none did
 * @param endNanos when the response finished or failed
 * @param promptTokens prompt tokens reported by the server's usage
 * @param cachedPromptTokens of those, the ones the server's usage reports as served from a prefix cache
 * @param outputTokens generated tokens reported by the server's usage
 * @param itlNanos gaps between consecutive token-carrying chunks
 * @param error {@code null} on success, else the error type (e.g. {@code "UNAVAILABLE"}, {@code "HTTP 503"})
 */
public record RequestRecord(int index, boolean warmup, long sendNanos, long firstTokenNanos, long endNanos,
                            int promptTokens, int cachedPromptTokens, int outputTokens, long[] itlNanos, String error) {

    public boolean succeeded() {
        return error == null;
    }

    public double ttftMs() {
        return (firstTokenNanos - sendNanos) / 1e6;
    }

    public double e2eMs() {
        return (endNanos - sendNanos) / 1e6;
    }

    /** {@code NaN} when fewer than two tokens were generated: there is no "per output token" time to speak of. */
    public double tpotMs() {
        return outputTokens < 2 ? Double.NaN : (endNanos - firstTokenNanos) / 1e6 / (outputTokens - 1);
    }
}
