package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Plain-Java twins of {@link VectorKernels}: the reference the SIMD kernels are tested against, and the fallback where
 * the preferred vector shape is too narrow for the quantised layouts.
 */
public final class ScalarKernels {
  static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
  static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED;

  private ScalarKernels() {}

  public static float dotF32(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += w.get(F32, offset + 4L * i) * x[xOffset + i];
    }
    return sum;
  }

  public static float dotF16(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += Float.float16ToFloat(w.get(I16, offset + 2L * i)) * x[xOffset + i];
    }
    return sum;
  }

  public static float dotBf16(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += bf16ToFloat(w.get(I16, offset + 2L * i)) * x[xOffset + i];
    }
    return sum;
  }

  /** {@code n} must be a multiple of 32: Q8_0 blocks are a half scale followed by 32 signed bytes. */
  public static float dotQ8_0(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    float sum = 0f;
    for (int b = 0; b < n / WeightFormat.QK; b++) {
      long block = offset + (long) b * WeightFormat.Q8_0.blockBytes();
      float scale = Float.float16ToFloat(w.get(I16, block));
      float blockSum = 0f;
      for (int j = 0; j < WeightFormat.QK; j++) {
        blockSum += w.get(ValueLayout.JAVA_BYTE, block + 2 + j) * x[xOffset + b * WeightFormat.QK + j];
      }
      sum += blockSum * scale;
    }
    return sum;
  }

  /**
   * {@code n} must be a multiple of 32: Q4_0 blocks are a half scale followed by 16 bytes whose low nibbles are
   * elements 0..15 and high nibbles elements 16..31, each offset by 8.
   */
  public static float dotQ4_0(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    float sum = 0f;
    for (int b = 0; b < n / WeightFormat.QK; b++) {
      long block = offset + (long) b * WeightFormat.Q4_0.blockBytes();
      float scale = Float.float16ToFloat(w.get(I16, block));
      int base = xOffset + b * WeightFormat.QK;
      float blockSum = 0f;
      for (int j = 0; j < WeightFormat.QK / 2; j++) {
        int packed = w.get(ValueLayout.JAVA_BYTE, block + 2 + j) & 0xFF;
        blockSum += ((packed & 0x0F) - 8) * x[base + j];
        blockSum += ((packed >>> 4) - 8) * x[base + j + WeightFormat.QK / 2];
      }
      sum += blockSum * scale;
    }
    return sum;
  }

  /**
   * Q8_0 weights against int8-quantised activations ({@link Q8Activations}): per block an exact integer dot product,
   * then one multiply by both scales. {@code xq}/{@code xd} from {@code xOffset} (a multiple of 32), {@code n} a
   * multiple of 32.
   */
  public static float dotQ8_0Q8(MemorySegment w, long offset, short[] xq, float[] xd, int xOffset, int n) {
    float sum = 0f;
    for (int b = 0; b < n / WeightFormat.QK; b++) {
      long block = offset + (long) b * WeightFormat.Q8_0.blockBytes();
      int base = xOffset + b * WeightFormat.QK;
      int blockSum = 0;
      for (int j = 0; j < WeightFormat.QK; j++) {
        blockSum += w.get(ValueLayout.JAVA_BYTE, block + 2 + j) * xq[base + j];
      }
      sum += blockSum * (Float.float16ToFloat(w.get(I16, block)) * xd[base / WeightFormat.QK]);
    }
    return sum;
  }

  /** Q4_0 weights against int8-quantised activations, as {@link #dotQ8_0Q8}. */
  public static float dotQ4_0Q8(MemorySegment w, long offset, short[] xq, float[] xd, int xOffset, int n) {
    float sum = 0f;
    int half = WeightFormat.QK / 2;
    for (int b = 0; b < n / WeightFormat.QK; b++) {
      long block = offset + (long) b * WeightFormat.Q4_0.blockBytes();
      int base = xOffset + b * WeightFormat.QK;
      int blockSum = 0;
      for (int j = 0; j < half; j++) {
        int packed = w.get(ValueLayout.JAVA_BYTE, block + 2 + j) & 0xFF;
        blockSum += ((packed & 0x0F) - 8) * xq[base + j] + ((packed >>> 4) - 8) * xq[base + half + j];
      }
      sum += blockSum * (Float.float16ToFloat(w.get(I16, block)) * xd[base / WeightFormat.QK]);
    }
    return sum;
  }

  public static float sumF32(MemorySegment w, long offset, long n) {
    float sum = 0f;
    for (long i = 0; i < n; i++) {
      sum += w.get(F32, offset + 4L * i);
    }
    return sum;
  }

  /** {@code y[i] += a * w[i]} for {@code n} F32 elements of {@code w}. */
  public static void axpyF32(float a, MemorySegment w, long offset, float[] y, int yOffset, int n) {
    for (int i = 0; i < n; i++) {
      y[yOffset + i] += a * w.get(F32, offset + 4L * i);
    }
  }

  public static float expShift(float[] a, int n, float shift) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      a[i] = (float) Math.exp(a[i] - shift);
      sum += a[i];
    }
    return sum;
  }

  public static void swiglu(float[] gate, float[] up, int n) {
    for (int i = 0; i < n; i++) {
      float g = gate[i];
      gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
    }
  }

  public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
    float sum = 0f;
    for (int i = 0; i < n; i++) {
      sum += a[aOffset + i] * b[bOffset + i];
    }
    return sum;
  }

  /**
   * One weight row against {@code tokens} activation rows: {@code y[yOffset + t * yStride] = dot(w, x[t * xStride..])}.
   */
  public static void dotMany(float[] w, int n, float[] x, int xStride, int tokens, float[] y, int yOffset,
      int yStride) {
    for (int t = 0; t < tokens; t++) {
      y[yOffset + t * yStride] = dot(w, 0, x, t * xStride, n);
    }
  }

  /** Four weight rows stored one after another against {@code tokens} activation rows. */
  public static void dotMany4(float[] w, int n, float[] x, int xStride, int tokens, float[] y, int yOffset,
      int yStride) {
    for (int t = 0; t < tokens; t++) {
      for (int r = 0; r < 4; r++) {
        y[t * yStride + yOffset + r] = dot(w, r * n, x, t * xStride, n);
      }
    }
  }

  public static float bf16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xFFFF) << 16);
  }
}
