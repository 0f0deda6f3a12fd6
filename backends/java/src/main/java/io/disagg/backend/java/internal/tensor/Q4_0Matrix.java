package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** ggml Q4_0 rows: blocks of a half scale and 16 bytes of 4-bit values offset by 8 (low nibbles first). */
public record Q4_0Matrix(MemorySegment data, int rows, int cols, long rowBytes) implements WeightMatrix {

  Q4_0Matrix(MemorySegment data, int rows, int cols) {
    this(data, rows, cols, WeightFormat.Q4_0.rowBytes(cols));
  }

  @Override
  public WeightFormat format() {
    return WeightFormat.Q4_0;
  }

  @Override
  public long byteSize() {
    return rowBytes * rows;
  }

  @Override
  public float dot(int row, float[] x, int xOffset) {
    return VectorKernels.ENABLED
        ? VectorKernels.dotQ4_0(data, row * rowBytes, x, xOffset, cols)
        : ScalarKernels.dotQ4_0(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public float dotScalar(int row, float[] x, int xOffset) {
    return ScalarKernels.dotQ4_0(data, row * rowBytes, x, xOffset, cols);
  }

  @Override
  public boolean takesQ8Activations() {
    return true;
  }

  @Override
  public float dotQ8(int row, Q8Activations x, int token) {
    int xOffset = token * x.cols();
    return VectorKernels.ENABLED
        ? VectorKernels.dotQ4_0Q8(data, row * rowBytes, x.values(), x.scales(), xOffset, cols)
        : ScalarKernels.dotQ4_0Q8(data, row * rowBytes, x.values(), x.scales(), xOffset, cols);
  }

  @Override
  public float dotQ8Scalar(int row, Q8Activations x, int token) {
    return ScalarKernels.dotQ4_0Q8(data, row * rowBytes, x.values(), x.scales(), token * x.cols(), cols);
  }

  @Override
  public void decodeRow(int row, float[] out, int outOffset) {
    long base = row * rowBytes;
    int half = WeightFormat.QK / 2;
    for (int b = 0; b < cols / WeightFormat.QK; b++) {
      long block = base + (long) b * WeightFormat.Q4_0.blockBytes();
      float scale = Float.float16ToFloat(data.get(ValueLayout.JAVA_SHORT_UNALIGNED, block));
      int o = outOffset + b * WeightFormat.QK;
      for (int j = 0; j < half; j++) {
        int packed = data.get(ValueLayout.JAVA_BYTE, block + 2 + j) & 0xFF;
        out[o + j] = ((packed & 0x0F) - 8) * scale;
        out[o + half + j] = ((packed >>> 4) - 8) * scale;
      }
    }
  }
}
