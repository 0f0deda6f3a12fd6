package io.disagg.backend.llamacpp.internal;

import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.TokenLogprob;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chooses the next token from the logits llama.cpp computed, on the Java side, so that sampling follows the SPI's
 * {@link SamplingParams} exactly and depends on {@code (seed, position)} alone: a sequence moved to another process
 * mid-stream samples what it would have sampled at home. Presence and frequency penalties apply to the tokens
 * generated so far; greedy is the argmax (lowest id on ties); otherwise logits are divided by the temperature, cut to
 * the top-k, then to the smallest prefix (by probability, best first) whose mass reaches top-p, and one token is drawn.
 * Log-probabilities are the log-softmax of the penalised, temperature-scaled logits before the cuts. Not thread-safe
 * (one per backend, used by its compute thread).
 */
final class LogitSampler {
  private float[] scratch = new float[0];

  /**
   * @param logits one position's logits ({@code vocab} floats); copied, not modified
   * @param generated tokens generated so far by this sequence (subject of the penalties)
   * @param position the position of the token being chosen
   */
  SampledToken sample(float[] logits, SamplingParams params, int[] generated, int position) {
    int vocab = logits.length;
    if (scratch.length != vocab) {
      scratch = new float[vocab];
    }
    float[] z = scratch;
    System.arraycopy(logits, 0, z, 0, vocab);
    if (params.presencePenalty() != 0f || params.frequencyPenalty() != 0f) {
      int[] counts = new int[vocab];
      for (int t : generated) {
        if (t >= 0 && t < vocab) {
          counts[t]++;
        }
      }
      for (int t = 0; t < vocab; t++) {
        if (counts[t] != 0) {
          z[t] -= params.presencePenalty() + params.frequencyPenalty() * counts[t];
        }
      }
    }
    boolean greedy = params.isGreedy();
    if (!greedy) {
      float inv = 1f / params.temperature();
      for (int i = 0; i < vocab; i++) {
        z[i] *= inv;
      }
    }
    boolean wantLogprobs = params.logprobs() || params.topLogprobs() > 0;
    int[] ranked = greedy && !wantLogprobs ? null : rank(z);
    int token = greedy ? argmax(z) : draw(z, ranked, params, new SplittableRandom(seedFor(params.seed(), position)));
    if (!wantLogprobs) {
      return SampledToken.of(token);
    }
    double norm = logSumExp(z, ranked[0]);
    List<TokenLogprob> top = new ArrayList<>(params.topLogprobs());
    for (int i = 0; i < Math.min(params.topLogprobs(), vocab); i++) {
      top.add(new TokenLogprob(ranked[i], (float) (z[ranked[i]] - norm)));
    }
    return new SampledToken(token, params.logprobs() ? (float) (z[token] - norm) : Float.NaN, top);
  }

  static int argmax(float[] z) {
    int best = 0;
    for (int i = 1; i < z.length; i++) {
      if (z[i] > z[best]) {
        best = i;
      }
    }
    return best;
  }

  /** Token ids by descending score, ties by ascending id: one primitive sort of packed (score, id) keys. */
  static int[] rank(float[] z) {
    long[] keys = new long[z.length];
    for (int i = 0; i < z.length; i++) {
      int bits = Float.floatToIntBits(z[i]);
      int ordered = bits < 0 ? ~bits : bits | Integer.MIN_VALUE; // unsigned order == float order
      // ~ordered ascends as the score descends; flipping its sign bit makes the signed sort order the unsigned one
      keys[i] = ((long) (~ordered ^ Integer.MIN_VALUE) << 32) | (i & 0xffffffffL);
    }
    Arrays.sort(keys); // by descending score, then ascending id
    int[] ids = new int[z.length];
    for (int i = 0; i < z.length; i++) {
      ids[i] = (int) keys[i];
    }
    return ids;
  }

  private static int draw(float[] z, int[] ranked, SamplingParams params, SplittableRandom random) {
    int n = params.topK() > 0 ? Math.min(params.topK(), ranked.length) : ranked.length;
    float max = z[ranked[0]];
    double[] p = new double[n];
    double total = 0;
    for (int i = 0; i < n; i++) {
      p[i] = Math.exp(z[ranked[i]] - max);
      total += p[i];
    }
    if (params.topP() < 1f) {
      double cumulative = 0;
      for (int i = 0; i < n; i++) {
        cumulative += p[i];
        if (cumulative >= params.topP() * total) {
          n = i + 1;
          total = cumulative;
          break;
        }
      }
    }
    double target = random.nextDouble() * total;
    double cumulative = 0;
    for (int i = 0; i < n; i++) {
      cumulative += p[i];
      if (target < cumulative) {
        return ranked[i];
      }
    }
    return ranked[0];
  }

  private static double logSumExp(float[] z, int best) {
    double max = z[best];
    double sum = 0;
    for (float v : z) {
      sum += Math.exp(v - max);
    }
    return max + Math.log(sum);
  }

  /** A well-mixed seed from {@code (seed, position)} (the MurmurHash3 64-bit finaliser over both). */
  static long seedFor(long seed, int position) {
    long h = seed ^ (0xC2B2AE3D27D4EB4FL * (position + 1L));
    h ^= h >>> 33;
    h *= 0xFF51AFD7ED558CCDL;
    h ^= h >>> 33;
    h *= 0xC4CEB9FE1A85EC53L;
    h ^= h >>> 33;
    return h;
  }
}
