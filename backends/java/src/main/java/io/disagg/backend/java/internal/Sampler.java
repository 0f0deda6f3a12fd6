package io.disagg.backend.java.internal;

import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.TokenLogprob;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. Penalties apply to the tokens generated so far; then greedy takes the argmax
 * (lowest id on ties), otherwise logits are divided by the temperature, cut to top-k and top-p, and one token is drawn
 * with a generator derived from {@code (seed, position)} alone. That makes a sequence's tokens independent of which
 * process samples which position, so colocated and disaggregated serving agree.
 *
 * <p>Reported log-probabilities are the log-softmax of the penalised, temperature-scaled logits (before the top-k/top-p
 * cut, so alternatives outside the nucleus still get finite values); for greedy the temperature is 1.
 */
final class Sampler {
  private Sampler() {}

  /**
   * @param logits the model's logits for one position, read from {@code offset}; not modified
   * @param generated tokens generated so far in this sequence (the subject of the penalties)
   * @param position the position of the token being sampled
   */
  static SampledToken sample(float[] logits, int offset, int vocab, SamplingParams params, int[] generated,
      int generatedCount, int position) {
    float[] z = Arrays.copyOfRange(logits, offset, offset + vocab);
    applyPenalties(z, params, generated, generatedCount);
    int token;
    if (params.isGreedy()) {
      token = argmax(z);
    } else {
      float invTemp = 1f / params.temperature();
      for (int i = 0; i < vocab; i++) {
        z[i] *= invTemp;
      }
      token = draw(z, params, new SplittableRandom(mix(params.seed(), position)));
    }
    if (!params.logprobs() && params.topLogprobs() == 0) {
      return SampledToken.of(token);
    }
    double logNorm = logSumExp(z);
    float logprob = params.logprobs() ? (float) (z[token] - logNorm) : Float.NaN;
    List<TokenLogprob> top = new ArrayList<>(params.topLogprobs());
    for (int id : topIds(z, params.topLogprobs())) {
      top.add(new TokenLogprob(id, (float) (z[id] - logNorm)));
    }
    return new SampledToken(token, logprob, top);
  }

  static void applyPenalties(float[] z, SamplingParams params, int[] generated, int count) {
    if (params.presencePenalty() == 0f && params.frequencyPenalty() == 0f) {
      return;
    }
    int[] occurrences = new int[z.length];
    for (int i = 0; i < count; i++) {
      int t = generated[i];
      if (t >= 0 && t < z.length) {
        occurrences[t]++;
      }
    }
    for (int t = 0; t < z.length; t++) {
      if (occurrences[t] > 0) {
        z[t] -= params.presencePenalty() + params.frequencyPenalty() * occurrences[t];
      }
    }
  }

  /** Index of the largest value; the lowest such index on ties. */
  static int argmax(float[] z) {
    int best = 0;
    for (int i = 1; i < z.length; i++) {
      if (z[i] > z[best]) {
        best = i;
      }
    }
    return best;
  }

  private static int draw(float[] z, SamplingParams params, SplittableRandom random) {
    int vocab = z.length;
    float max = z[argmax(z)];
    double[] p = new double[vocab];
    for (int i = 0; i < vocab; i++) {
      p[i] = Math.exp(z[i] - max);
    }
    int[] candidates;
    if (params.topK() > 0 && params.topK() < vocab) {
      candidates = topIds(z, params.topK());
    } else if (params.topP() < 1f) {
      candidates = nucleusCandidates(z, p, params.topP());
    } else {
      candidates = null; // the whole vocabulary in id order
    }
    if (candidates != null && params.topP() < 1f) {
      double total = 0;
      for (int id : candidates) {
        total += p[id];
      }
      double cumulative = 0;
      int keep = candidates.length;
      for (int i = 0; i < candidates.length; i++) {
        cumulative += p[candidates[i]];
        if (cumulative >= params.topP() * total) {
          keep = i + 1;
          break;
        }
      }
      candidates = Arrays.copyOf(candidates, keep);
    }
    double total = 0;
    if (candidates == null) {
      for (double v : p) {
        total += v;
      }
    } else {
      for (int id : candidates) {
        total += p[id];
      }
    }
    double target = random.nextDouble() * total;
    double cumulative = 0;
    if (candidates == null) {
      for (int i = 0; i < vocab; i++) {
        cumulative += p[i];
        if (target < cumulative) {
          return i;
        }
      }
      return argmax(z); // rounding left the target past the end: the most likely token
    }
    for (int id : candidates) {
      cumulative += p[id];
      if (target < cumulative) {
        return id;
      }
    }
    return candidates[0];
  }

  /** The {@code k} highest-scoring ids, best first, lower id first on ties. */
  static int[] topIds(float[] z, int k) {
    k = Math.min(k, z.length);
    int[] best = new int[k];
    int size = 0;
    for (int id = 0; id < z.length; id++) {
      if (size == k && !(z[id] > z[best[k - 1]])) {
        continue;
      }
      int at = size == k ? k - 1 : size++;
      while (at > 0 && z[id] > z[best[at - 1]]) {
        best[at] = best[at - 1];
        at--;
      }
      best[at] = id;
    }
    return best;
  }

  /**
   * Ids that may be in the top-p nucleus, best first: a token whose probability is below {@code (1 - topP) / (n - 1)}
   * cannot be needed (all such tokens together hold less than {@code 1 - topP}), which skips sorting the long tail.
   */
  private static int[] nucleusCandidates(float[] z, double[] p, float topP) {
    double total = 0;
    for (double v : p) {
      total += v;
    }
    double cutoff = (1.0 - topP) / Math.max(1, z.length - 1) * total;
    return java.util.stream.IntStream.range(0, z.length).filter(i -> p[i] >= cutoff).boxed()
        .sorted((a, b) -> z[a] != z[b] ? Float.compare(z[b], z[a]) : Integer.compare(a, b))
        .mapToInt(Integer::intValue).toArray();
  }

  private static double logSumExp(float[] z) {
    float max = z[argmax(z)];
    double sum = 0;
    for (float v : z) {
      sum += Math.exp(v - max);
    }
    return max + Math.log(sum);
  }

  /** A well-mixed 64-bit seed from (seed, position): the SplitMix64 finaliser over both. */
  static long mix(long seed, long position) {
    long z = seed + 0x9E3779B97F4A7C15L * (position + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
