package io.disagg.backend.java.internal.tensor;

/**
 * Activation rows quantised to int8 in blocks of {@link WeightFormat#QK}, as llama.cpp's {@code q8_0} activations
 * for its integer dot products: per block {@code d = max|x| / 127} and {@code q = round(x / d)} in {@code [-127, 127]},
 * so {@code x ≈ d * q} with an error of at most {@code d / 2} per element. The scale is kept as a float (llama.cpp
 * rounds it to half precision). Values are stored widened to {@code short} so that the kernels multiply them without
 * a conversion per weight row.
 *
 * <p>Quantising once per product and reusing the result for every weight row is what makes the integer kernels
 * ({@link WeightMatrix#dotQ8}) cheaper than decoding every weight to float. Mutable scratch space: one writer, then
 * any number of readers (the compute threads of one product, which the fork/join hand-off orders after the write).
 */
public final class Q8Activations {
  private short[] values = new short[0];
  private float[] scales = new float[0];
  private int cols;
  private int tokens;

  /**
   * Quantises {@code tokens} rows of {@code cols} elements, row {@code t} read from {@code x[t * xStride ..]}.
   *
   * @throws IllegalArgumentException if {@code cols} is not a whole number of blocks
   */
  public void quantize(float[] x, int xStride, int tokens, int cols) {
    if (cols % WeightFormat.QK != 0) {
      throw new IllegalArgumentException("cols: " + cols + " (expected: a multiple of " + WeightFormat.QK + ")");
    }
    int blocksPerRow = cols / WeightFormat.QK;
    if (values.length < tokens * cols) {
      values = new short[tokens * cols];
      scales = new float[tokens * blocksPerRow];
    }
    this.cols = cols;
    this.tokens = tokens;
    for (int t = 0; t < tokens; t++) {
      for (int b = 0; b < blocksPerRow; b++) {
        int from = t * xStride + b * WeightFormat.QK;
        float max = 0f;
        for (int j = 0; j < WeightFormat.QK; j++) {
          max = Math.max(max, Math.abs(x[from + j]));
        }
        float d = max / 127f;
        float inverse = d == 0f ? 0f : 1f / d;
        int to = t * cols + b * WeightFormat.QK;
        for (int j = 0; j < WeightFormat.QK; j++) {
          values[to + j] = (short) Math.clamp(Math.round(x[from + j] * inverse), -127, 127);
        }
        scales[t * blocksPerRow + b] = d;
      }
    }
  }

  /** Elements per row of the last {@link #quantize} call. */
  public int cols() {
    return cols;
  }

  /** Rows of the last {@link #quantize} call. */
  public int tokens() {
    return tokens;
  }

  /** Quantised values, row {@code t} at {@code t * cols()}; read-only for callers. */
  short[] values() {
    return values;
  }

  /** Block scales, row {@code t} at {@code t * cols() / 32}; read-only for callers. */
  float[] scales() {
    return scales;
  }

  /** The dequantised value {@code d * q} of element {@code i} of row {@code t}, for tests and reports. */
  public float dequantized(int t, int i) {
    return values[t * cols + i] * scales[(t * cols + i) / WeightFormat.QK];
  }

  /** The scale of the block holding element {@code i} of row {@code t}. */
  public float scale(int t, int i) {
    return scales[(t * cols + i) / WeightFormat.QK];
  }
}
