package io.disagg.router;

/**
 * The length rule ({@code --policy threshold}): disaggregate when the prompt has at least {@code disaggregateThreshold}
 * tokens. Kept for predictability and for comparison with {@link CostModelClassifier}, the default.
 *
 * <p>Why a length threshold: a long prefill run on a decode worker stalls every sequence in its batch for the length
 * of that prefill (inter-token latency spikes), and moving it to a prefill worker avoids that. A short prompt costs
 * the decode batch little, while disaggregating it still pays a ReserveKv round trip, a second RPC and the KV
 * transfer; so short prompts stay colocated. Lowering the threshold protects decode latency more and moves more bytes;
 * raising it does the opposite.
 */
public final class ThresholdClassifier implements ServeModeClassifier {
  /** Default threshold in prompt tokens; see {@link #defaultThreshold()}. */
  public static final int DEFAULT_THRESHOLD = 128;

  private final int disaggregateThreshold;

  private ThresholdClassifier(int disaggregateThreshold) {
    if (disaggregateThreshold <= 0) {
      throw new IllegalArgumentException(
          "disaggregateThreshold: %s (expected: > 0)".formatted(disaggregateThreshold));
    }
    this.disaggregateThreshold = disaggregateThreshold;
  }

  /**
   * A classifier disaggregating prompts of {@code disaggregateThreshold} tokens or more.
   *
   * @throws IllegalArgumentException when the threshold is not positive
   */
  public static ThresholdClassifier of(int disaggregateThreshold) {
    return new ThresholdClassifier(disaggregateThreshold);
  }

  /**
   * 128 tokens: about where, on the reference CPU engine, prefilling a prompt on the decode worker takes longer than
   * a handful of decode steps, while its KV cache is still small enough to move in well under a decode step.
   */
  public static int defaultThreshold() {
    return DEFAULT_THRESHOLD;
  }

  public int disaggregateThreshold() {
    return disaggregateThreshold;
  }

  @Override
  public ServeDecision classify(ClassifierInput input) {
    if (input.request().promptTokens() < disaggregateThreshold) {
      return ServeDecision.colocated(ServeReasons.PROMPT_BELOW_THRESHOLD);
    }
    if (input.prefillWorkers().isEmpty()) {
      return ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER);
    }
    return ServeDecision.disaggregated(ServeReasons.PROMPT_AT_OR_ABOVE_THRESHOLD);
  }

  @Override
  public String toString() {
    return "ThresholdClassifier{disaggregateThreshold=" + disaggregateThreshold + '}';
  }
}
