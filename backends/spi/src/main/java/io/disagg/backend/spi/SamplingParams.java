package io.disagg.backend.spi;

/**
 * How to pick the next token from the logits.
 *
 * @param temperature 0 for greedy (argmax); otherwise logits are divided by it before softmax
 * @param topK keep only the k most likely tokens; 0 disables
 * @param topP nucleus sampling threshold in (0, 1]; 1 disables
 * @param seed seed of the sampler; sampling at position p uses a generator derived from (seed, p) only, so a sequence
 *     gives the same tokens whichever process samples each position
 * @param presencePenalty subtracted once from the logit of every token already generated, in [-2, 2]
 * @param frequencyPenalty subtracted per occurrence from the logit of tokens already generated, in [-2, 2]
 * @param topLogprobs number of most likely alternatives to report, 0 to 20
 * @param logprobs whether to report the sampled token's log-probability
 */
public record SamplingParams(
    float temperature,
    int topK,
    float topP,
    long seed,
    float presencePenalty,
    float frequencyPenalty,
    int topLogprobs,
    boolean logprobs) {

  /** Most alternatives {@link #topLogprobs()} may ask for. */
  public static final int MAX_TOP_LOGPROBS = 20;

  /** Greedy decoding, no logprobs. */
  public static final SamplingParams GREEDY = new SamplingParams(0f, 0, 1f, 0L, 0f, 0f, 0, false);

  public SamplingParams {
    if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
      throw new IllegalArgumentException("temperature: " + temperature + " (expected: >= 0)");
    }
    if (topK < 0) {
      throw new IllegalArgumentException("topK: " + topK + " (expected: >= 0)");
    }
    if (!(topP > 0f && topP <= 1f)) {
      throw new IllegalArgumentException("topP: " + topP + " (expected: in (0, 1])");
    }
    if (!(presencePenalty >= -2f && presencePenalty <= 2f)) {
      throw new IllegalArgumentException("presencePenalty: " + presencePenalty + " (expected: in [-2, 2])");
    }
    if (!(frequencyPenalty >= -2f && frequencyPenalty <= 2f)) {
      throw new IllegalArgumentException("frequencyPenalty: " + frequencyPenalty + " (expected: in [-2, 2])");
    }
    if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
      throw new IllegalArgumentException("topLogprobs: " + topLogprobs + " (expected: 0.." + MAX_TOP_LOGPROBS + ")");
    }
  }

  public static SamplingParams greedy() {
    return GREEDY;
  }

  public static SamplingParams of(float temperature, float topP, long seed) {
    return new SamplingParams(temperature, 0, topP, seed, 0f, 0f, 0, false);
  }

  public boolean isGreedy() {
    return temperature == 0f;
  }

  public SamplingParams withLogprobs(boolean logprobs, int topLogprobs) {
    return new SamplingParams(temperature, topK, topP, seed, presencePenalty, frequencyPenalty, topLogprobs, logprobs);
  }

  public SamplingParams withPenalties(float presencePenalty, float frequencyPenalty) {
    return new SamplingParams(temperature, topK, topP, seed, presencePenalty, frequencyPenalty, topLogprobs, logprobs);
  }

  public SamplingParams withTopK(int topK) {
    return new SamplingParams(temperature, topK, topP, seed, presencePenalty, frequencyPenalty, topLogprobs, logprobs);
  }
}
