package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** bfloat16 rows (the upper half of a float), widened inside the dot product. */
public record Bf16Matrix(MemorySegment data, int rows, int cols, long rowBytes) implements WeightMatrix {

  Bf16Matrix(MemorySegment data, int rows, int cols) {
    this(data, rows, cols, WeightFormat.BF16.rowBytes(cols));
  }

  @Override
  public WeightFormat format() {
    return WeightFormat.BF16;
  }

  @Override
  public long byteSize() {
    return rowBytes * rows;
  }

  @Override
  public float dot(int row, float[] x, int xOffset) {
    return VectorKernels.ENABLED
        ? VectorKernels.dotBf16(data, row * rowBytes, x, xOffset, cols)
        : ScalarKernels.dotBf16(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public float dotScalar(int row, float[] x, int xOffset) {
    return ScalarKernels.dotBf16(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public void decodeRow(int row, float[] out, int outOffset) {
    long base = row * rowBytes;
    for (int i = 0; i < cols; i++) {
      out[outOffset + i] = ScalarKernels.bf16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, base + 2L * i));
    }
  }
}
