package io.disagg.router;

import java.util.Objects;

/**
 * What the router knows about one worker at a moment: its last health report plus the requests the router sent it
 * since that report. Classifiers and selectors decide from these, never from live RPCs.
 *
 * @param id the id the worker was registered under (its {@code host:port}); reported in {@code ServedBy}
 * @param role prefill or decode
 * @param address gRPC target ({@code host:port})
 * @param inRotation whether requests may be sent to it: it answered its last health poll, is ready, and serves the
 *     router's model in the registered role
 * @param outOfRotationReason why not, empty when in rotation
 * @param modelFingerprint the worker's reported {@code <sha256>/<kv layout>}; prefill and decode workers exchange KV
 *     only when these are equal
 * @param kvAddress kv-transfer address (decode workers)
 * @param queueDepth requests waiting to start on the worker
 * @param tokensInFlight prompt tokens waiting or being prefilled (prefill) / sequences in the batch (decode)
 * @param runningSequences sequences being decoded
 * @param freeKvBlocks free KV blocks, 0 when unreported
 * @param totalKvBlocks KV blocks in the pool, 0 when unreported
 * @param blockTokens tokens per KV block, 0 when unreported
 * @param recentTokensPerSecond the worker's recent throughput
 * @param activeRequests requests of this router the worker is serving now
 * @param unreportedRequests requests the router started on it minus those that ended since the last health report
 *     (negative when more ended than started); corrects the report's load until the next poll
 * @param unreportedPromptTokens the same for prompt tokens
 * @param kvBytesPerToken KV cache bytes per token the worker reports, 0 when unreported
 */
public record WorkerSnapshot(
    String id,
    WorkerRole role,
    String address,
    boolean inRotation,
    String outOfRotationReason,
    String modelFingerprint,
    String kvAddress,
    int queueDepth,
    int tokensInFlight,
    int runningSequences,
    int freeKvBlocks,
    int totalKvBlocks,
    int blockTokens,
    double recentTokensPerSecond,
    int activeRequests,
    int unreportedRequests,
    long unreportedPromptTokens,
    long kvBytesPerToken) {

  public WorkerSnapshot {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(outOfRotationReason, "outOfRotationReason");
    Objects.requireNonNull(modelFingerprint, "modelFingerprint");
    Objects.requireNonNull(kvAddress, "kvAddress");
  }

  /** A snapshot of a worker that did not report its KV bytes per token. */
  public WorkerSnapshot(String id, WorkerRole role, String address, boolean inRotation, String outOfRotationReason,
      String modelFingerprint, String kvAddress, int queueDepth, int tokensInFlight, int runningSequences,
      int freeKvBlocks, int totalKvBlocks, int blockTokens, double recentTokensPerSecond, int activeRequests,
      int unreportedRequests, long unreportedPromptTokens) {
    this(id, role, address, inRotation, outOfRotationReason, modelFingerprint, kvAddress, queueDepth, tokensInFlight,
        runningSequences, freeKvBlocks, totalKvBlocks, blockTokens, recentTokensPerSecond, activeRequests,
        unreportedRequests, unreportedPromptTokens, 0L);
  }

  /** Sequences the worker is estimated to hold now: the report corrected by what the router did since. */
  public long estimatedSequences() {
    return Math.max(0L, (long) runningSequences + queueDepth + unreportedRequests);
  }

  /** Prompt tokens the worker is estimated to have queued or in prefill now. */
  public long estimatedPromptTokens() {
    return Math.max(0L, tokensInFlight + unreportedPromptTokens);
  }

  /**
   * Whether the last report says the worker has KV room for {@code tokens} tokens; true when it did not report its
   * pool (the worker's own admission decides then).
   */
  public boolean reportsRoomFor(long tokens) {
    if (totalKvBlocks <= 0 || blockTokens <= 0) {
      return true;
    }
    return (long) freeKvBlocks * blockTokens >= tokens;
  }
}
