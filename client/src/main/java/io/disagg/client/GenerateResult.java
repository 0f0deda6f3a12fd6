package io.disagg.client;

import io.disagg.proto.v1.FinishReason;
import java.util.List;

/**
 * A finished generation, from {@link DisaggClient#generate} or assembled from a stream's chunks.
 *
 * @param requestId the id the router echoed (or assigned)
 * @param text the generated text
 * @param tokenIds the generated token ids
 * @param finishReason why generation stopped
 * @param usage token counts
 * @param timing the router's per-request time breakdown
 * @param servedBy serve mode and workers
 * @param clientTiming latency seen by this client
 */
public record GenerateResult(String requestId, String text, List<Integer> tokenIds, FinishReason finishReason,
                             TokenUsage usage, TimingBreakdown timing, ServingInfo servedBy,
                             ClientTiming clientTiming) {

    public GenerateResult {
        tokenIds = List.copyOf(tokenIds);
    }
}
