package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.TokenLogprob;
import io.disagg.gguf.GgmlCodec;
import io.disagg.gguf.GgmlType;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufWriter;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The engine against a deliberately naive forward pass written here from the textbook definitions (full recompute
 * of every position, plain loops, double accumulation), on small random models whose weights are large enough that
 * attention is far from uniform, so RoPE style (adjacent pairs for llama, NeoX halves for qwen2), biases, GQA and
 * SwiGLU all move the logits.
 */
class ReferenceForwardTest {
  private static final int LAYERS = 2;
  private static final int DIM = 64;
  private static final int HEADS = 4;
  private static final int KV_HEADS = 2;
  private static final int HEAD_DIM = DIM / HEADS;
  private static final int FFN = 96;
  private static final int VOCAB = 512;
  private static final float EPS = 1e-5f;
  private static final double ROPE_BASE = 10000;

  @TempDir
  Path dir;

  private final Map<String, float[]> tensors = new HashMap<>();

  private Path writeModel(String arch) {
    SplittableRandom rnd = new SplittableRandom(arch.hashCode());
    GgufWriter.Builder b = GgufWriter.builder().version(3).alignment(32);
    try (GgufFile stories = GgufFile.open(TestModels.stories260K())) {
      stories.metadata().forEach((k, v) -> {
        if (k.startsWith("tokenizer.")) {
          b.put(k, stories.metadataType(k).orElseThrow(), v);
        }
      });
    }
    b.put("general.architecture", arch).put("general.name", "reference-" + arch)
        .put(arch + ".block_count", LAYERS).put(arch + ".embedding_length", DIM)
        .put(arch + ".feed_forward_length", FFN).put(arch + ".attention.head_count", HEADS)
        .put(arch + ".attention.head_count_kv", KV_HEADS).put(arch + ".context_length", 64)
        .put(arch + ".rope.freq_base", (float) ROPE_BASE).put(arch + ".attention.layer_norm_rms_epsilon", EPS);
    tensor(b, rnd, "token_embd.weight", 1.0, 0, DIM, VOCAB);
    tensor(b, rnd, "output_norm.weight", 0.1, 1, DIM);
    tensor(b, rnd, "output.weight", 0.3, 0, DIM, VOCAB);
    for (int l = 0; l < LAYERS; l++) {
      String p = "blk." + l + ".";
      tensor(b, rnd, p + "attn_norm.weight", 0.1, 1, DIM);
      tensor(b, rnd, p + "ffn_norm.weight", 0.1, 1, DIM);
      tensor(b, rnd, p + "attn_q.weight", 0.4, 0, DIM, DIM);
      tensor(b, rnd, p + "attn_k.weight", 0.4, 0, DIM, KV_HEADS * HEAD_DIM);
      tensor(b, rnd, p + "attn_v.weight", 0.3, 0, DIM, KV_HEADS * HEAD_DIM);
      tensor(b, rnd, p + "attn_output.weight", 0.2, 0, DIM, DIM);
      tensor(b, rnd, p + "ffn_gate.weight", 0.3, 0, DIM, FFN);
      tensor(b, rnd, p + "ffn_up.weight", 0.3, 0, DIM, FFN);
      tensor(b, rnd, p + "ffn_down.weight", 0.2, 0, FFN, DIM);
      if (arch.equals("qwen2")) {
        tensor(b, rnd, p + "attn_q.bias", 0.5, 0, DIM);
        tensor(b, rnd, p + "attn_k.bias", 0.5, 0, KV_HEADS * HEAD_DIM);
        tensor(b, rnd, p + "attn_v.bias", 0.5, 0, KV_HEADS * HEAD_DIM);
      }
    }
    return b.write(dir.resolve(arch + ".gguf"));
  }

  private void tensor(GgufWriter.Builder b, SplittableRandom rnd, String name, double std, double mean,
      long... shape) {
    long n = 1;
    for (long d : shape) {
      n *= d;
    }
    float[] v = new float[(int) n];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (mean + std * rnd.nextGaussian());
    }
    tensors.put(name, v);
    b.tensor(name, GgmlType.F32, shape, GgmlCodec.encode(GgmlType.F32, v));
  }

  /** {@code y = W x} for a GGUF matrix of shape [in, out] (rows of length in). */
  private double[] matmul(String name, double[] x, int out) {
    float[] w = tensors.get(name);
    int in = x.length;
    double[] y = new double[out];
    for (int r = 0; r < out; r++) {
      double s = 0;
      for (int i = 0; i < in; i++) {
        s += w[r * in + i] * x[i];
      }
      y[r] = s;
    }
    float[] bias = tensors.get(name.replace(".weight", ".bias"));
    if (bias != null) {
      for (int r = 0; r < out; r++) {
        y[r] += bias[r];
      }
    }
    return y;
  }

  private double[] rmsNorm(double[] x, String weight) {
    float[] w = tensors.get(weight);
    double ss = 0;
    for (double v : x) {
      ss += v * v;
    }
    double scale = 1 / Math.sqrt(ss / x.length + EPS);
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = w[i] * x[i] * scale;
    }
    return out;
  }

  private static void rope(double[] v, int heads, int pos, boolean neox) {
    for (int h = 0; h < heads; h++) {
      for (int i = 0; i < HEAD_DIM / 2; i++) {
        double theta = pos * Math.pow(ROPE_BASE, -2.0 * i / HEAD_DIM);
        int a = h * HEAD_DIM + (neox ? i : 2 * i);
        int b = h * HEAD_DIM + (neox ? i + HEAD_DIM / 2 : 2 * i + 1);
        double x0 = v[a];
        double x1 = v[b];
        v[a] = x0 * Math.cos(theta) - x1 * Math.sin(theta);
        v[b] = x0 * Math.sin(theta) + x1 * Math.cos(theta);
      }
    }
  }

  /** Log-softmax of the next-token logits after {@code tokens}, recomputing every position from scratch. */
  private double[] referenceLogprobs(int[] tokens, boolean neox) {
    int n = tokens.length;
    int kvDim = KV_HEADS * HEAD_DIM;
    double[][] x = new double[n][DIM];
    float[] embd = tensors.get("token_embd.weight");
    for (int t = 0; t < n; t++) {
      for (int i = 0; i < DIM; i++) {
        x[t][i] = embd[tokens[t] * DIM + i];
      }
    }
    for (int l = 0; l < LAYERS; l++) {
      String p = "blk." + l + ".";
      double[][] q = new double[n][];
      double[][] k = new double[n][];
      double[][] v = new double[n][];
      for (int t = 0; t < n; t++) {
        double[] xb = rmsNorm(x[t], p + "attn_norm.weight");
        q[t] = matmul(p + "attn_q.weight", xb, DIM);
        k[t] = matmul(p + "attn_k.weight", xb, kvDim);
        v[t] = matmul(p + "attn_v.weight", xb, kvDim);
        rope(q[t], HEADS, t, neox);
        rope(k[t], KV_HEADS, t, neox);
      }
      for (int t = 0; t < n; t++) {
        double[] att = new double[DIM];
        for (int h = 0; h < HEADS; h++) {
          int kvh = h / (HEADS / KV_HEADS);
          double[] scores = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int s = 0; s <= t; s++) {
            double dot = 0;
            for (int d = 0; d < HEAD_DIM; d++) {
              dot += q[t][h * HEAD_DIM + d] * k[s][kvh * HEAD_DIM + d];
            }
            scores[s] = dot / Math.sqrt(HEAD_DIM);
            max = Math.max(max, scores[s]);
          }
          double sum = 0;
          for (int s = 0; s <= t; s++) {
            scores[s] = Math.exp(scores[s] - max);
            sum += scores[s];
          }
          for (int s = 0; s <= t; s++) {
            for (int d = 0; d < HEAD_DIM; d++) {
              att[h * HEAD_DIM + d] += scores[s] / sum * v[s][kvh * HEAD_DIM + d];
            }
          }
        }
        double[] o = matmul(p + "attn_output.weight", att, DIM);
        for (int i = 0; i < DIM; i++) {
          x[t][i] += o[i];
        }
        double[] xb = rmsNorm(x[t], p + "ffn_norm.weight");
        double[] gate = matmul(p + "ffn_gate.weight", xb, FFN);
        double[] up = matmul(p + "ffn_up.weight", xb, FFN);
        double[] hidden = new double[FFN];
        for (int i = 0; i < FFN; i++) {
          hidden[i] = gate[i] / (1 + Math.exp(-gate[i])) * up[i];
        }
        double[] down = matmul(p + "ffn_down.weight", hidden, DIM);
        for (int i = 0; i < DIM; i++) {
          x[t][i] += down[i];
        }
      }
    }
    double[] logits = matmul("output.weight", rmsNorm(x[n - 1], "output_norm.weight"), VOCAB);
    double max = Double.NEGATIVE_INFINITY;
    for (double z : logits) {
      max = Math.max(max, z);
    }
    double sum = 0;
    for (double z : logits) {
      sum += Math.exp(z - max);
    }
    double logNorm = max + Math.log(sum);
    for (int i = 0; i < VOCAB; i++) {
      logits[i] -= logNorm;
    }
    return logits;
  }

  private static void assertMatches(SampledToken token, double[] reference, String what) {
    assertThat(token.top()).hasSize(SamplingParams.MAX_TOP_LOGPROBS);
    for (TokenLogprob alt : token.top()) {
      assertThat((double) alt.logprob()).as("%s: logprob of %d", what, alt.tokenId())
          .isCloseTo(reference[alt.tokenId()], within(2e-3));
    }
    int best = 0;
    for (int i = 1; i < reference.length; i++) {
      if (reference[i] > reference[best]) {
        best = i;
      }
    }
    assertThat(token.tokenId()).as(what).isEqualTo(best);
  }

  @ParameterizedTest
  @ValueSource(strings = {"llama", "qwen2"})
  void prefillAndDecode_matchNaiveReferenceForward(String arch) {
    Path model = writeModel(arch);
    boolean neox = arch.equals("qwen2");
    SamplingParams params = SamplingParams.greedy().withLogprobs(true, SamplingParams.MAX_TOP_LOGPROBS);
    int[] prompt = {1, 17, 300, 42, 99, 5, 260, 18, 77, 401, 12};
    try (JavaBackend backend = TestModels.open(model, 2, 8)) {
      PrefillResult r = backend.prefill(new PrefillRequest("ref", prompt, params, 8));
      int[] tokens = java.util.Arrays.copyOf(prompt, prompt.length + 6);
      SampledToken next = r.firstToken();
      assertMatches(next, referenceLogprobs(prompt, neox), arch + " prefill");
      for (int step = 0; step < 6; step++) {
        tokens[prompt.length + step] = next.tokenId();
        next = backend.decode(List.of(new DecodeSlot(r.sequence(), next.tokenId(), params))).getFirst();
        assertMatches(next, referenceLogprobs(java.util.Arrays.copyOf(tokens, prompt.length + step + 1), neox),
            arch + " decode step " + step);
      }
      r.sequence().close();
    }
  }
}
