package io.disagg.backend.java.internal;

import io.disagg.backend.java.internal.tensor.Q8Activations;
import io.disagg.backend.java.internal.tensor.ScalarKernels;
import io.disagg.backend.java.internal.tensor.VectorKernels;
import io.disagg.backend.java.internal.tensor.WeightMatrix;
import io.disagg.backend.spi.KvLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.IntConsumer;

/**
 * The forward pass of a Llama-family decoder over a batch of token rows. Each row is one token at one position of
 * one sequence's paged KV cache, which covers both batched prefill (many rows of one sequence, consecutive positions,
 * causal attention) and batched decode (one row per sequence, positions differing). Every weight matrix is streamed
 * once per call for all rows.
 *
 * <p>Keys and values are written to and read from the blocks only through {@link KvLayout} offsets, so the cache is
 * byte-for-byte the SPI's layout. Called by one thread at a time; holds reusable scratch space.
 */
final class Transformer {
  /**
   * Whether decode steps quantise activations to int8 for products with Q8_0 and Q4_0 weights (on unless
   * {@code -Ddisagg.java.q8Activations=false}); prefill always multiplies with float activations.
   */
  static final boolean Q8_ACTIVATIONS =
      Boolean.parseBoolean(System.getProperty("disagg.java.q8Activations", "true"));

  /** Default multiply-adds below which work is not split off to another thread (waking one costs ~10-50 µs). */
  static final int DEFAULT_MIN_MACS_PER_SHARE = 1 << 16;

  private final ModelConfig c;
  private final ModelWeights w;
  private final KvLayout layout;
  private final Parallel parallel;
  private final float[] inverseFrequencies;
  private final float attentionScale;
  private final int minMacsPerShare;
  private final float[][] rowScratch; // [share][4 × max cols]: weight rows decoded for batched products
  private final float[][] scoreScratch; // [share][contextLength]
  private final Q8Activations q8 = new Q8Activations(); // the input of the current product, quantised (decode only)
  private boolean quantiseActivations; // for the forward pass in progress
  private Workspace ws = new Workspace(0);

  Transformer(ModelConfig c, ModelWeights w, KvLayout layout, Parallel parallel, int minMacsPerShare) {
    this.minMacsPerShare = minMacsPerShare;
    this.c = c;
    this.w = w;
    this.layout = layout;
    this.parallel = parallel;
    inverseFrequencies = new float[c.ropeDims() / 2];
    for (int i = 0; i < inverseFrequencies.length; i++) {
      double factor = w.ropeFrequencyFactors == null ? 1.0 : w.ropeFrequencyFactors[i];
      inverseFrequencies[i] = (float) (c.ropeScale() * Math.pow(c.ropeBase(), -2.0 * i / c.ropeDims()) / factor);
    }
    attentionScale = (float) (1.0 / Math.sqrt(c.headDim()));
    int maxCols = Math.max(Math.max(c.dim(), c.qDim()), c.feedForwardDim());
    rowScratch = new float[parallel.threads()][4 * maxCols];
    scoreScratch = new float[parallel.threads()][c.contextLength()];
  }

  /** Scratch activations for {@code rows} token rows, each array {@code [row][width]} flattened. */
  private static final class Workspace {
    final int capacity;
    float[] x;
    float[] xb;
    float[] q;
    float[] k;
    float[] v;
    float[] att;
    float[] hb;
    float[] hb2;

    Workspace(int capacity) {
      this.capacity = capacity;
    }

    Workspace(int capacity, ModelConfig c) {
      this.capacity = capacity;
      x = new float[capacity * c.dim()];
      xb = new float[capacity * Math.max(c.dim(), c.qDim())];
      q = new float[capacity * c.qDim()];
      k = new float[capacity * c.kvDim()];
      v = new float[capacity * c.kvDim()];
      att = new float[capacity * c.qDim()];
      hb = new float[capacity * c.feedForwardDim()];
      hb2 = new float[capacity * c.feedForwardDim()];
    }
  }

  /**
   * Runs {@code rows} tokens through the model, appending each row's keys and values to its cache at its position.
   *
   * @param tokens token id per row
   * @param positions position per row; the row attends to positions {@code 0..position} of its cache, which must
   *     already hold every earlier position not among this call's rows
   * @param caches block segments per row (a sequence's blocks in order, covering the row's position)
   * @param logitRows rows whose next-token logits are wanted, in output order
   * @param afterLayer told the index of each layer once its keys and values for all rows are written
   * @param decode whether this is a decode step: products with Q8_0 and Q4_0 weights then use int8-quantised
   *     activations (integer kernels, each row's result independent of the batch); prefill keeps float activations
   * @return logits, {@code logitRows.length × vocabSize}
   */
  float[] forward(int rows, int[] tokens, int[] positions, MemorySegment[][] caches, int[] logitRows,
      IntConsumer afterLayer, boolean decode) {
    quantiseActivations = decode && Q8_ACTIVATIONS;
    Workspace s = workspace(rows);
    int dim = c.dim();
    int qDim = c.qDim();
    int kvDim = c.kvDim();
    int ffn = c.feedForwardDim();
    for (int t = 0; t < rows; t++) {
      w.tokenEmbedding.decodeRow(tokens[t], s.x, t * dim);
    }
    for (int l = 0; l < c.layers(); l++) {
      int layer = l;
      for (int t = 0; t < rows; t++) {
        rmsNorm(s.xb, t * dim, s.x, t * dim, w.attnNorm[l], dim, c.rmsEps());
      }
      matmul3(w.wq[l], s.q, w.wk[l], s.k, w.wv[l], s.v, s.xb, rows);
      addBias(s.q, w.bq[l], rows);
      addBias(s.k, w.bk[l], rows);
      addBias(s.v, w.bv[l], rows);
      headNorm(s.q, w.qNorm[l], rows * c.heads());
      headNorm(s.k, w.kNorm[l], rows * c.kvHeads());
      for (int t = 0; t < rows; t++) {
        rope(s.q, t * qDim, c.heads(), positions[t]);
        rope(s.k, t * kvDim, c.kvHeads(), positions[t]);
        int pos = positions[t];
        MemorySegment block = caches[t][pos / layout.blockTokens()];
        int inBlock = pos % layout.blockTokens();
        MemorySegment.copy(s.k, t * kvDim, block, ValueLayout.JAVA_FLOAT, layout.offset(layer, false, inBlock), kvDim);
        MemorySegment.copy(s.v, t * kvDim, block, ValueLayout.JAVA_FLOAT, layout.offset(layer, true, inBlock), kvDim);
      }
      int attentionWork = rows * c.heads();
      parallel.forRange(attentionWork, Math.max(1, minMacsPerShare / (c.headDim() * (positions[rows - 1] + 1))),
          (share, from, to) -> attend(layer, s, positions, caches, share, from, to));
      matmul(w.wo[l], s.att, rows, s.xb);
      for (int i = 0; i < rows * dim; i++) {
        s.x[i] += s.xb[i];
      }
      for (int t = 0; t < rows; t++) {
        rmsNorm(s.xb, t * dim, s.x, t * dim, w.ffnNorm[l], dim, c.rmsEps());
      }
      matmul2(w.wGate[l], s.hb, w.wUp[l], s.hb2, s.xb, rows);
      if (VectorKernels.ENABLED) {
        VectorKernels.swiglu(s.hb, s.hb2, rows * ffn);
      } else {
        ScalarKernels.swiglu(s.hb, s.hb2, rows * ffn);
      }
      matmul(w.wDown[l], s.hb, rows, s.xb);
      for (int i = 0; i < rows * dim; i++) {
        s.x[i] += s.xb[i];
      }
      afterLayer.accept(l);
    }
    int outRows = logitRows.length;
    for (int i = 0; i < outRows; i++) {
      rmsNorm(s.xb, i * dim, s.x, logitRows[i] * dim, w.outputNorm, dim, c.rmsEps());
    }
    float[] logits = new float[outRows * c.vocabSize()];
    matmul(w.output, s.xb, outRows, logits);
    return logits;
  }

  private Workspace workspace(int rows) {
    if (ws.capacity < rows) {
      ws = new Workspace(Math.max(rows, ws.capacity * 2), c);
    }
    return ws;
  }

  private void attend(int layer, Workspace s, int[] positions, MemorySegment[][] caches, int share, int from,
      int to) {
    int heads = c.heads();
    int headDim = c.headDim();
    int group = heads / c.kvHeads();
    int blockTokens = layout.blockTokens();
    float[] scores = scoreScratch[share];
    for (int item = from; item < to; item++) {
      int t = item / heads;
      int h = item % heads;
      int headOffset = (h / group) * headDim * Float.BYTES;
      int qOffset = t * c.qDim() + h * headDim;
      int last = positions[t];
      MemorySegment[] blocks = caches[t];
      float max = Float.NEGATIVE_INFINITY;
      for (int p = 0; p <= last; p++) {
        long keyOffset = layout.offset(layer, false, p % blockTokens) + headOffset;
        float score = dot(blocks[p / blockTokens], keyOffset, s.q, qOffset, headDim) * attentionScale;
        scores[p] = score;
        max = Math.max(max, score);
      }
      float sum = VectorKernels.ENABLED
          ? VectorKernels.expShift(scores, last + 1, max)
          : ScalarKernels.expShift(scores, last + 1, max);
      float inv = 1f / sum;
      java.util.Arrays.fill(s.att, qOffset, qOffset + headDim, 0f);
      for (int p = 0; p <= last; p++) {
        long valueOffset = layout.offset(layer, true, p % blockTokens) + headOffset;
        axpy(scores[p] * inv, blocks[p / blockTokens], valueOffset, s.att, qOffset, headDim);
      }
    }
  }

  private static float dot(MemorySegment seg, long offset, float[] x, int xOffset, int n) {
    if (!VectorKernels.ENABLED) {
      return ScalarKernels.dotF32(seg, offset, x, xOffset, n);
    }
    return n < VectorKernels.lanes() && n % 8 == 0
        ? VectorKernels.dotF32Short(seg, offset, x, xOffset, n)
        : VectorKernels.dotF32(seg, offset, x, xOffset, n);
  }

  private static void axpy(float a, MemorySegment seg, long offset, float[] y, int yOffset, int n) {
    if (!VectorKernels.ENABLED) {
      ScalarKernels.axpyF32(a, seg, offset, y, yOffset, n);
    } else if (n < VectorKernels.lanes() && n % 8 == 0) {
      VectorKernels.axpyF32Short(a, seg, offset, y, yOffset, n);
    } else {
      VectorKernels.axpyF32(a, seg, offset, y, yOffset, n);
    }
  }

  /** {@code y[t][r] = m · x[t]} for every row t, split over threads by output row. */
  private void matmul(WeightMatrix m, float[] x, int rows, float[] y) {
    int out = m.rows();
    int cols = m.cols();
    boolean q = quantise(x, rows, cols, m);
    parallel.forRange(out, minShare(cols, rows),
        (share, from, to) -> product(m, q, x, rows, y, from, to, rowScratch[share]));
  }

  /** Two products sharing the input, in one fork/join (gate and up). */
  private void matmul2(WeightMatrix a, float[] ya, WeightMatrix b, float[] yb, float[] x, int rows) {
    int cols = a.cols();
    int na = a.rows();
    int nb = b.rows();
    boolean q = quantise(x, rows, cols, a, b);
    parallel.forRange(na + nb, minShare(cols, rows), (share, from, to) -> {
      float[] scratch = rowScratch[share];
      if (from < na) {
        product(a, q, x, rows, ya, from, Math.min(to, na), scratch);
      }
      if (to > na) {
        product(b, q, x, rows, yb, Math.max(from, na) - na, to - na, scratch);
      }
    });
  }

  /** Three products sharing the input, in one fork/join (query, key, value). */
  private void matmul3(WeightMatrix a, float[] ya, WeightMatrix b, float[] yb, WeightMatrix d, float[] yd, float[] x,
      int rows) {
    int cols = a.cols();
    int na = a.rows();
    int nb = b.rows();
    int nd = d.rows();
    boolean q = quantise(x, rows, cols, a, b, d);
    parallel.forRange(na + nb + nd, minShare(cols, rows), (share, from, to) -> {
      float[] scratch = rowScratch[share];
      if (from < na) {
        product(a, q, x, rows, ya, from, Math.min(to, na), scratch);
      }
      if (from < na + nb && to > na) {
        product(b, q, x, rows, yb, Math.max(from, na) - na, Math.min(to, na + nb) - na, scratch);
      }
      if (to > na + nb) {
        product(d, q, x, rows, yd, Math.max(from, na + nb) - na - nb, to - na - nb, scratch);
      }
    });
  }

  /**
   * Quantises {@code rows} input rows into {@link #q8} once for all threads, when this is a decode step and any of
   * the matrices takes int8 activations; returns whether it did.
   */
  private boolean quantise(float[] x, int rows, int cols, WeightMatrix... matrices) {
    if (!quantiseActivations) {
      return false;
    }
    for (WeightMatrix m : matrices) {
      if (m.takesQ8Activations()) {
        q8.quantize(x, cols, rows, cols);
        return true;
      }
    }
    return false;
  }

  /** Rows {@code [from, to)} of {@code m · x} for every token row, with int8 activations where quantised. */
  private void product(WeightMatrix m, boolean quantised, float[] x, int rows, float[] y, int from, int to,
      float[] scratch) {
    if (quantised && m.takesQ8Activations()) {
      m.matMatQ8(q8, y, m.rows(), from, to);
    } else {
      m.matMat(x, m.cols(), rows, y, m.rows(), from, to, scratch);
    }
  }

  private int minShare(int cols, int rows) {
    return Math.max(1, minMacsPerShare / Math.max(1, cols * rows));
  }

  private static void addBias(float[] y, float[] bias, int rows) {
    if (bias == null) {
      return;
    }
    for (int t = 0; t < rows; t++) {
      int base = t * bias.length;
      for (int i = 0; i < bias.length; i++) {
        y[base + i] += bias[i];
      }
    }
  }

  /** qwen3's per-head RMS norm: each of {@code heads} consecutive head vectors in place, when {@code weight} is set. */
  private void headNorm(float[] v, float[] weight, int heads) {
    if (weight == null) {
      return;
    }
    for (int h = 0; h < heads; h++) {
      rmsNorm(v, h * c.headDim(), v, h * c.headDim(), weight, c.headDim(), c.rmsEps());
    }
  }

  static void rmsNorm(float[] out, int outOffset, float[] x, int xOffset, float[] weight, int n, float eps) {
    double ss = 0;
    for (int i = 0; i < n; i++) {
      float v = x[xOffset + i];
      ss += v * v;
    }
    float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
    for (int i = 0; i < n; i++) {
      out[outOffset + i] = weight[i] * (scale * x[xOffset + i]);
    }
  }

  /** Rotates the first {@code ropeDims} elements of each of {@code heads} heads starting at {@code offset}. */
  private void rope(float[] v, int offset, int heads, int position) {
    int half = c.ropeDims() / 2;
    for (int i = 0; i < half; i++) {
      double angle = (double) position * inverseFrequencies[i];
      float cos = (float) Math.cos(angle);
      float sin = (float) Math.sin(angle);
      for (int h = 0; h < heads; h++) {
        int base = offset + h * c.headDim();
        int a = c.neoxRope() ? base + i : base + 2 * i;
        int b = c.neoxRope() ? base + i + half : base + 2 * i + 1;
        float x0 = v[a];
        float x1 = v[b];
        v[a] = x0 * cos - x1 * sin;
        v[b] = x0 * sin + x1 * cos;
      }
    }
  }
}
