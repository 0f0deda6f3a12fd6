package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Little-endian IEEE single-precision rows. */
public record F32Matrix(MemorySegment data, int rows, int cols, long rowBytes) implements WeightMatrix {

  F32Matrix(MemorySegment data, int rows, int cols) {
    this(data, rows, cols, WeightFormat.F32.rowBytes(cols));
  }

  @Override
  public WeightFormat format() {
    return WeightFormat.F32;
  }

  @Override
  public long byteSize() {
    return rowBytes * rows;
  }

  @Override
  public float dot(int row, float[] x, int xOffset) {
    return VectorKernels.ENABLED
        ? VectorKernels.dotF32(data, row * rowBytes, x, xOffset, cols)
        : ScalarKernels.dotF32(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public float dotScalar(int row, float[] x, int xOffset) {
    return ScalarKernels.dotF32(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public void decodeRow(int row, float[] out, int outOffset) {
    long base = row * rowBytes;
    MemorySegment.copy(data, ValueLayout.JAVA_FLOAT_UNALIGNED, base, out, outOffset, cols);
  }
}
