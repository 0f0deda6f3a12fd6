package io.disagg.loadtest;

import java.util.Map;

/**
 * The measured part (after warm-up) of one load level.
 *
 * @param label e.g. {@code "rate 4.0/s"} or {@code "8 users"}
 * @param offeredRate requests per second offered (open loop); {@code 0} for closed loop
 * @param users concurrent users (closed loop); {@code 0} for open loop
 * @param durationSeconds from the first measured send to the last completion
 * @param requests measured requests sent
 * @param succeeded measured requests that completed
 * @param errors failed requests by error type (gRPC status code, HTTP status, or client-side reason)
 * @param requestThroughput completed requests per second
 * @param inputTokenThroughput prompt tokens (from usage) of completed requests per second
 * @param outputTokenThroughput generated tokens (from usage) per second
 * @param meanInputTokens mean prompt tokens per completed request
 * @param meanOutputTokens mean generated tokens per completed request
 * @param meanCachedPromptTokens mean prompt tokens per completed request that the server served from a prefix cache
 * @param prefixCacheHitRatio cached prompt tokens over prompt tokens, summed over completed requests (so long prompts
 *     weigh more, as they do in prefill time); {@code NaN} when no completed request reported prompt tokens
 * @param ttft time to first token
 * @param tpot time per output token after the first: {@code (e2e - ttft) / (outputTokens - 1)}
 * @param itl inter-token latency: gaps between consecutive token-carrying chunks
 * @param e2e end-to-end latency
 * @param slo attainment of the SLO targets
 * @param cdfs sorted samples (downsampled to at most 200 points) per metric, for latency CDF charts
 */
public record RunResult(String label, double offeredRate, int users, double durationSeconds, int requests,
                        int succeeded, Map<String, Integer> errors, double requestThroughput,
                        double inputTokenThroughput, double outputTokenThroughput, double meanInputTokens,
                        double meanOutputTokens, double meanCachedPromptTokens, double prefixCacheHitRatio,
                        LatencySummary ttft, LatencySummary tpot, LatencySummary itl,
                        LatencySummary e2e, SloAttainment slo, Map<String, double[]> cdfs) {
}
