package io.disagg.backend.simulated.internal;

import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.TokenLogprob;
import io.disagg.backend.spi.Tokenizer;
import java.util.ArrayList;
import java.util.List;

/**
 * Draws the next token from a synthetic distribution defined by the context hash: the candidates, in rank order, are
 * {@code pick(mix(h + j × GOLDEN))} for {@code j = 0, 1, ...} (distinct, never a special or end-of-generation token, so
 * generation length is set by the request's limit alone), and rank {@code j} has probability {@code ½^(j+1)}.
 * Greedy picks rank 0; sampling with temperature {@code T} draws a rank from a geometric distribution with ratio
 * {@code ½^(1/T)} (capped at 0.95), using a uniform derived from {@code (seed, position)} only, and top-k caps the rank.
 * Top-p, presence and frequency penalties have no effect: there are no real logits to shape. Immutable, thread-safe.
 */
final class SimSampler {
  private static final int MAX_RANK = 63;
  private static final double LN_HALF = Math.log(0.5);

  private final boolean[] allowed;
  private final int allowedCount;

  SimSampler(Tokenizer tokenizer, int vocabSize) {
    this.allowed = new boolean[vocabSize];
    int count = 0;
    for (int id = 0; id < vocabSize; id++) {
      boolean ok = !tokenizer.isSpecial(id) && !tokenizer.isEndOfGeneration(id);
      allowed[id] = ok;
      count += ok ? 1 : 0;
    }
    this.allowedCount = count;
  }

  /** Tokens the sampler may produce. */
  int allowedCount() {
    return allowedCount;
  }

  private int pick(long hash) {
    int id = (int) Math.floorMod(hash, (long) allowed.length);
    while (!allowed[id]) {
      id = id + 1 == allowed.length ? 0 : id + 1;
    }
    return id;
  }

  /** The first {@code n} distinct candidates for context state {@code h}. */
  private int[] candidates(long h, int n) {
    int limit = Math.min(n, allowedCount);
    int[] out = new int[limit];
    int found = 0;
    for (long j = 0; found < limit; j++) {
      int id = pick(ContextHash.mix(h + j * ContextHash.GOLDEN));
      boolean seen = false;
      for (int i = 0; i < found && !seen; i++) {
        seen = out[i] == id;
      }
      if (!seen) {
        out[found++] = id;
      }
    }
    return out;
  }

  /** Samples the token that follows context state {@code h}, at sequence position {@code position}. */
  SampledToken sample(long h, int position, SamplingParams params) {
    int rank = 0;
    if (!params.isGreedy()) {
      double ratio = Math.min(Math.pow(0.5, 1.0 / params.temperature()), 0.95);
      long bits = ContextHash.mix(ContextHash.mix(params.seed()) + ContextHash.GOLDEN * (position + 1L));
      double u = ((bits >>> 11) + 1) * 0x1.0p-53; // in (0, 1]
      rank = (int) Math.min(Math.floor(Math.log(u) / Math.log(ratio)), MAX_RANK);
      if (params.topK() > 0) {
        rank = Math.min(rank, params.topK() - 1);
      }
      rank = Math.min(rank, allowedCount - 1);
    }
    int wanted = Math.max(rank + 1, params.topLogprobs());
    int[] ranked = candidates(h, wanted);
    int token = ranked[rank];
    if (!params.logprobs() && params.topLogprobs() == 0) {
      return SampledToken.of(token);
    }
    List<TokenLogprob> top = new ArrayList<>(params.topLogprobs());
    for (int j = 0; j < Math.min(params.topLogprobs(), ranked.length); j++) {
      top.add(new TokenLogprob(ranked[j], logprob(j)));
    }
    return new SampledToken(token, logprob(rank), top);
  }

  private static float logprob(int rank) {
    return (float) (LN_HALF * (rank + 1));
  }
}
