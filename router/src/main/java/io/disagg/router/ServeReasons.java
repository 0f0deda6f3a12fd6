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

  private ServeReasons() {}
}
