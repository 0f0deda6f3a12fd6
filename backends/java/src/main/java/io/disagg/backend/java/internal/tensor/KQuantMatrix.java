package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;

/**
 * ggml K-quant rows (Q4_K, Q5_K, Q6_K): super-blocks of 256 elements with 6-bit (Q4_K, Q5_K) or 8-bit (Q6_K) sub-block
 * scales, laid out as {@code io.disagg.gguf.KQuantCodec} describes. Products with int8 activations use integer sums
 * per 32-element sub-block (two 16-element sub-blocks for Q6_K) scaled once each; see {@link KQuantKernels}.
 */
public record KQuantMatrix(WeightFormat format, MemorySegment data, int rows, int cols, long rowBytes)
    implements WeightMatrix {

  KQuantMatrix(WeightFormat format, MemorySegment data, int rows, int cols) {
    this(format, data, rows, cols, format.rowBytes(cols));
  }

  @Override
  public long byteSize() {
    return rowBytes * rows;
  }

  @Override
  public float dot(int row, float[] x, int xOffset) {
    return KQuantKernels.dot(format, data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public float dotScalar(int row, float[] x, int xOffset) {
    return KQuantKernels.dot(format, data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public boolean takesQ8Activations() {
    return true;
  }

  @Override
  public float dotQ8(int row, Q8Activations x, int token) {
    int xOffset = token * x.cols();
    return VectorKernels.ENABLED && format == WeightFormat.Q4_K
        ? KQuantVectorKernels.dotQ4_KQ8(data, row * rowBytes, x.values(), x.scales(), xOffset, cols)
        : KQuantKernels.dotQ8(format, data, row * rowBytes, x.values(), x.scales(), xOffset, cols);
  }

  @Override
  public float dotQ8Scalar(int row, Q8Activations x, int token) {
    return KQuantKernels.dotQ8(format, data, row * rowBytes, x.values(), x.scales(), token * x.cols(), cols);
  }

  @Override
  public void decodeRow(int row, float[] out, int outOffset) {
    KQuantKernels.decode(format, data, row * rowBytes, out, outOffset, cols);
  }
}
