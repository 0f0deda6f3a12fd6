package io.disagg.router;

/**
 * What the router has measured about its workers and the KV paths between them, as the cost model reads it. The
 * router's own implementation keeps exponentially weighted averages of every prefill's timing and KV transfer and
 * falls back to configured priors until a path or worker was measured. Thread-safe, non-blocking.
 */
public interface CostStats {

  /** Bytes per second the KV cache moves from {@code prefill} to {@code decode}: measured, else the prior. */
  double kvBandwidthBytesPerSecond(WorkerSnapshot prefill, WorkerSnapshot decode);

  /**
   * KV cache bytes per prompt token on that path: the decode (else prefill) worker's reported
   * {@code kv_bytes_per_token}, else measured from past transfers, else 0 (the transfer then looks free).
   */
  double kvBytesPerToken(WorkerSnapshot prefill, WorkerSnapshot decode);

  /** Seconds {@code worker} spends per uncached prompt token in prefill: measured, else a hint, else the prior. */
  double prefillSecondsPerToken(WorkerSnapshot worker);

  /**
   * Fixed priors, never updated: what the router assumes before it measured anything; also what classifier tests
   * inject.
   *
   * @param kvBandwidthBytesPerSecond every path's bandwidth
   * @param kvBytesPerToken every path's KV bytes per token
   * @param prefillTokensPerSecond every worker's prefill speed
   */
  static CostStats fixed(double kvBandwidthBytesPerSecond, double kvBytesPerToken, double prefillTokensPerSecond) {
    if (!(kvBandwidthBytesPerSecond > 0)) {
      throw new IllegalArgumentException(
          "kvBandwidthBytesPerSecond: %s (expected: > 0)".formatted(kvBandwidthBytesPerSecond));
    }
    if (!(kvBytesPerToken >= 0)) {
      throw new IllegalArgumentException("kvBytesPerToken: %s (expected: >= 0)".formatted(kvBytesPerToken));
    }
    if (!(prefillTokensPerSecond > 0)) {
      throw new IllegalArgumentException(
          "prefillTokensPerSecond: %s (expected: > 0)".formatted(prefillTokensPerSecond));
    }
    return new CostStats() {
      @Override
      public double kvBandwidthBytesPerSecond(WorkerSnapshot prefill, WorkerSnapshot decode) {
        return kvBandwidthBytesPerSecond;
      }

      @Override
      public double kvBytesPerToken(WorkerSnapshot prefill, WorkerSnapshot decode) {
        return kvBytesPerToken;
      }

      @Override
      public double prefillSecondsPerToken(WorkerSnapshot worker) {
        return 1.0 / prefillTokensPerSecond;
      }
    };
  }
}
