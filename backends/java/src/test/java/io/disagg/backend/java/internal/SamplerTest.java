package io.disagg.backend.java.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.TokenLogprob;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final int[] NONE = new int[0];

  private static SampledToken sample(float[] logits, SamplingParams p, int position) {
    return Sampler.sample(logits, 0, logits.length, p, NONE, 0, position);
  }

  @Test
  void greedy_ties_lowestId() {
    float[] logits = {0f, 3f, 1f, 3f, 2f};
    assertThat(sample(logits, SamplingParams.greedy(), 0).tokenId()).isEqualTo(1);
  }

  @Test
  void seeded_samePositionSameSeed_sameToken_otherPositionsVary() {
    float[] logits = new float[50];
    SamplingParams p = SamplingParams.of(1f, 1f, 99L);
    Set<Integer> seen = new HashSet<>();
    for (int position = 0; position < 40; position++) {
      int a = sample(logits, p, position).tokenId();
      assertThat(sample(logits, p, position).tokenId()).isEqualTo(a);
      seen.add(a);
    }
    assertThat(seen).hasSizeGreaterThan(10); // uniform logits: positions draw different tokens
  }

  @Test
  void topK_onlyTopCandidatesDrawn() {
    float[] logits = {5f, 4.9f, 4.8f, 0f, 0f, 0f, 0f, 0f};
    SamplingParams p = SamplingParams.of(5f, 1f, 1L).withTopK(2);
    for (int position = 0; position < 200; position++) {
      assertThat(sample(logits, p, position).tokenId()).isIn(0, 1);
    }
  }

  @Test
  void topP_cutsTheTail() {
    float[] logits = {10f, 9.5f, 0f, 0f, 0f, 0f};
    SamplingParams p = SamplingParams.of(1f, 0.9f, 7L);
    Set<Integer> seen = new HashSet<>();
    for (int position = 0; position < 300; position++) {
      seen.add(sample(logits, p, position).tokenId());
    }
    assertThat(seen).containsExactlyInAnyOrder(0, 1);
  }

  @Test
  void penalties_lowerRepeatedTokens() {
    float[] logits = {2f, 1.55f, 0f};
    SamplingParams p = SamplingParams.greedy().withPenalties(0.2f, 0.2f);
    assertThat(Sampler.sample(logits, 0, 3, p, new int[] {0}, 1, 5).tokenId()).isEqualTo(0); // 2 - 0.4 = 1.6
    assertThat(Sampler.sample(logits, 0, 3, p, new int[] {0, 0}, 2, 5).tokenId()).isEqualTo(1); // 2 - 0.6 = 1.4
    assertThat(logits[0]).isEqualTo(2f);
  }

  @Test
  void logprobs_areLogSoftmax_topSortedBestFirst() {
    float[] logits = {1f, 2f, 3f, 0.5f};
    SampledToken t = sample(logits, SamplingParams.greedy().withLogprobs(true, 3), 0);
    double z = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3) + Math.exp(0.5));
    assertThat(t.tokenId()).isEqualTo(2);
    assertThat(t.logprob()).isCloseTo((float) (3 - z), within(1e-5f));
    assertThat(t.top()).extracting(TokenLogprob::tokenId).containsExactly(2, 1, 0);
    double total = 0;
    for (int i = 0; i < logits.length; i++) {
      total += Math.exp(logits[i] - z);
    }
    assertThat(total).isCloseTo(1.0, within(1e-6));
  }

  @Test
  void mix_differsAcrossSeedsAndPositions() {
    assertThat(Sampler.mix(1, 2)).isNotEqualTo(Sampler.mix(2, 1)).isNotEqualTo(Sampler.mix(1, 3));
  }
}
