package io.disagg.backend.spi;

import java.util.List;

/**
 * A token chosen by the sampler.
 *
 * @param tokenId the token
 * @param logprob its log-probability (NaN unless logprobs were asked for)
 * @param top the most likely alternatives, most likely first (empty unless asked for)
 */
public record SampledToken(int tokenId, float logprob, List<TokenLogprob> top) {
  public SampledToken {
    top = List.copyOf(top);
  }

  public static SampledToken of(int tokenId) {
    return new SampledToken(tokenId, Float.NaN, List.of());
  }
}
