package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** IEEE half-precision rows, widened inside the dot product. */
public record F16Matrix(MemorySegment data, int rows, int cols, long rowBytes) implements WeightMatrix {

  F16Matrix(MemorySegment data, int rows, int cols) {
    this(data, rows, cols, WeightFormat.F16.rowBytes(cols));
  }

  @Override
  public WeightFormat format() {
    return WeightFormat.F16;
  }

  @Override
  public long byteSize() {
    return rowBytes * rows;
  }

  @Override
  public float dot(int row, float[] x, int xOffset) {
    return VectorKernels.ENABLED
        ? VectorKernels.dotF16(data, row * rowBytes, x, xOffset, cols)
        : ScalarKernels.dotF16(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public float dotScalar(int row, float[] x, int xOffset) {
    return ScalarKernels.dotF16(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public void decodeRow(int row, float[] out, int outOffset) {
    long base = row * rowBytes;
    for (int i = 0; i < cols; i++) {
      out[outOffset + i] = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * i));
    }
  }
}
