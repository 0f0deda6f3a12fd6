package io.disagg.router;

/** The reason codes the router itself reports in {@code ServedBy.reason}. Custom classifiers may add their own. */
public final class ServeReasons {
  /** The prompt is at least {@code disaggregateThreshold} tokens and a prefill worker is in rotation. */
  public static final String PROMPT_AT_OR_ABOVE_THRESHOLD = "prompt_at_or_above_threshold";
  /** The prompt is shorter than {@code disaggregateThreshold}: a separate prefill would not pay for the transfer. */
  public static final String PROMPT_BELOW_THRESHOLD = "prompt_below_threshold";
  /** Disaggregation was wanted but no prefill worker (with a matching fingerprint) is in rotation. */
  public static final String NO_PREFILL_WORKER = "no_prefill_worker";
  /** The client set {@code force_mode}. */
  public static final String FORCED = "forced";
  /** Every prefill attempt failed; the decode worker that held the reservation served the request alone. */
  public static final String PREFILL_FAILED_FALLBACK_COLOCATED = "prefill_failed_fallback_colocated";

  /** Cost model: the decode worker already holds the whole prompt's KV cache; there is nothing to prefill or move. */
  public static final String FULLY_CACHED = "fully_cached";
  /** Cost model: serving on the decode worker alone is predicted to reach the first token sooner. */
  public static final String COLOCATED_CHEAPER = "colocated_cheaper";
  /** Cost model: a prefill worker is predicted faster even ignoring the stall a local prefill would cause. */
  public static final String DISAGGREGATED_CHEAPER = "disaggregated_cheaper";
  /** Cost model: colocated, and moving the KV cache alone is what made disaggregation lose. */
  public static final String TRANSFER_TOO_SLOW = "transfer_too_slow";
  /** Cost model: colocated, and the prefill worker's queue alone is what made disaggregation lose. */
  public static final String PREFILL_QUEUE_LONG = "prefill_queue_long";
  /**
   * Cost model: disaggregated because a local prefill would stall the decode worker's running batch; without that
   * stall colocated would have been chosen.
   */
  public static final String PROTECTS_DECODE_BATCH = "protects_decode_batch";

  private ServeReasons() {}
}
