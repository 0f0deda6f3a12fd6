package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** ggml Q8_0 rows: blocks of a half scale and 32 signed bytes. */
public record Q8_0Matrix(MemorySegment data, int rows, int cols, long rowBytes) implements WeightMatrix {

  Q8_0Matrix(MemorySegment data, int rows, int cols) {
    this(data, rows, cols, WeightFormat.Q8_0.rowBytes(cols));
  }

  @Override
  public WeightFormat format() {
    return WeightFormat.Q8_0;
  }

  @Override
  public long byteSize() {
    return rowBytes * rows;
  }

  @Override
  public float dot(int row, float[] x, int xOffset) {
    return VectorKernels.ENABLED
        ? VectorKernels.dotQ8_0(data, row * rowBytes, x, xOffset, cols)
        : ScalarKernels.dotQ8_0(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public float dotScalar(int row, float[] x, int xOffset) {
    return ScalarKernels.dotQ8_0(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public boolean takesQ8Activations() {
    return true;
  }

  @Override
  public float dotQ8(int row, Q8Activations x, int token) {
    int xOffset = token * x.cols();
    return VectorKernels.ENABLED
        ? VectorKernels.dotQ8_0Q8(data, row * rowBytes, x.values(), x.scales(), xOffset, cols)
        : ScalarKernels.dotQ8_0Q8(data, row * rowBytes, x.values(), x.scales(), xOffset, cols);
  }

  @Override
  public float dotQ8Scalar(int row, Q8Activations x, int token) {
    return ScalarKernels.dotQ8_0Q8(data, row * rowBytes, x.values(), x.scales(), token * x.cols(), cols);
  }

  @Override
  public void decodeRow(int row, float[] out, int outOffset) {
    long base = row * rowBytes;
    for (int b = 0; b < cols / WeightFormat.QK; b++) {
      long block = base + (long) b * WeightFormat.Q8_0.blockBytes();
      float scale = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, block));
      int o = outOffset + b * WeightFormat.QK;
      for (int j = 0; j < WeightFormat.QK; j++) {
        out[o + j] = data.get(ValueLayout.JAVA_BYTE, block + 2 + j) * scale;
      }
    }
  }
}
