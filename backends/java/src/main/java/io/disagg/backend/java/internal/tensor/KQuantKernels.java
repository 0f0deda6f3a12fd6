package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Scalar reference kernels for the K-quants (layouts in {@code io.disagg.gguf.KQuantCodec}): plain loops that read
 * every quant through {@link #q45} / {@link #q6}, the twins the vector kernels ({@link KQuantVectorKernels}) are
 * tested against. Products work per sub-block: {@code Σ value·x = d·scale·Σ q·x − dmin·min·Σ x}, with the sums in
 * integers when the activations are int8 ({@link Q8Activations}, blocks of 32 that line up with the sub-blocks).
 */
final class KQuantKernels {
  private static final int QK_K = 256;

  private KQuantKernels() {}

  /** The 6-bit scale of sub-block {@code j} of a Q4_K/Q5_K super-block at {@code b} (ggml's get_scale_min_k4). */
  static int scale(MemorySegment w, long b, int j) {
    long s = b + 4;
    return j < 4 ? u8(w, s + j) & 63 : (u8(w, s + j + 4) & 0xF) | ((u8(w, s + j - 4) >>> 6) << 4);
  }

  /** The 6-bit min of sub-block {@code j}. */
  static int min(MemorySegment w, long b, int j) {
    long s = b + 4;
    return j < 4 ? u8(w, s + j + 4) & 63 : (u8(w, s + j + 4) >>> 4) | ((u8(w, s + j) >>> 6) << 4);
  }

  /** Quant {@code l} (0..31) of sub-block {@code j} of a Q4_K ({@code five} false) or Q5_K super-block at {@code b}. */
  static int q45(MemorySegment w, long b, int j, int l, boolean five) {
    int packed = u8(w, b + (five ? 48 : 16) + 32L * (j >>> 1) + l);
    int q = (j & 1) == 0 ? packed & 0xF : packed >>> 4;
    return five ? q | (((u8(w, b + 16 + l) >>> j) & 1) << 4) : q;
  }

  /** Signed quant (−32..31) of element {@code e} (0..255) of a Q6_K super-block at {@code b}. */
  static int q6(MemorySegment w, long b, int e) {
    int n = e >>> 7;
    int k = (e >>> 5) & 3;
    int l = e & 31;
    int packed = u8(w, b + 64L * n + l + 32 * (k & 1));
    int low = k < 2 ? packed & 0xF : packed >>> 4;
    int high = (u8(w, b + 128 + 32L * n + l) >>> (2 * k)) & 3;
    return (low | (high << 4)) - 32;
  }

  /** The F16 super-block scale {@code d} of a block at {@code b}. */
  static float d(WeightFormat f, MemorySegment w, long b) {
    return Float.float16ToFloat(w.get(ScalarKernels.I16, f == WeightFormat.Q6_K ? b + 208 : b));
  }

  static float dmin(MemorySegment w, long b) {
    return Float.float16ToFloat(w.get(ScalarKernels.I16, b + 2));
  }

  static void decode(WeightFormat f, MemorySegment w, long offset, float[] out, int outOffset, int n) {
    for (int s = 0; s < n / QK_K; s++) {
      long b = offset + (long) s * f.blockBytes();
      float d = d(f, w, b);
      int o = outOffset + s * QK_K;
      if (f == WeightFormat.Q6_K) {
        for (int e = 0; e < QK_K; e++) {
          out[o + e] = d * w.get(ValueLayout.JAVA_BYTE, b + 192 + e / 16) * q6(w, b, e);
        }
      } else {
        boolean five = f == WeightFormat.Q5_K;
        float dmin = dmin(w, b);
        for (int j = 0; j < 8; j++) {
          float step = d * scale(w, b, j);
          float m = dmin * min(w, b, j);
          for (int l = 0; l < 32; l++) {
            out[o + 32 * j + l] = step * q45(w, b, j, l, five) - m;
          }
        }
      }
    }
  }

  static float dot(WeightFormat f, MemorySegment w, long offset, float[] x, int xOffset, int n) {
    double sum = 0;
    for (int s = 0; s < n / QK_K; s++) {
      long b = offset + (long) s * f.blockBytes();
      float d = d(f, w, b);
      int xo = xOffset + s * QK_K;
      if (f == WeightFormat.Q6_K) {
        for (int j = 0; j < 16; j++) {
          float qx = 0;
          for (int l = 0; l < 16; l++) {
            qx += q6(w, b, 16 * j + l) * x[xo + 16 * j + l];
          }
          sum += d * w.get(ValueLayout.JAVA_BYTE, b + 192 + j) * qx;
        }
      } else {
        boolean five = f == WeightFormat.Q5_K;
        float dmin = dmin(w, b);
        for (int j = 0; j < 8; j++) {
          float qx = 0;
          float xs = 0;
          for (int l = 0; l < 32; l++) {
            float v = x[xo + 32 * j + l];
            qx += q45(w, b, j, l, five) * v;
            xs += v;
          }
          sum += d * scale(w, b, j) * qx - dmin * min(w, b, j) * xs;
        }
      }
    }
    return (float) sum;
  }

  /** Against int8 activations {@code xq} with block scales {@code xd} (blocks of 32 from {@code xOffset}). */
  static float dotQ8(WeightFormat f, MemorySegment w, long offset, short[] xq, float[] xd, int xOffset, int n) {
    float sum = 0;
    int scale0 = xOffset / WeightFormat.QK;
    for (int s = 0; s < n / QK_K; s++) {
      long b = offset + (long) s * f.blockBytes();
      float d = d(f, w, b);
      int xo = xOffset + s * QK_K;
      if (f == WeightFormat.Q6_K) {
        for (int j = 0; j < 16; j++) {
          int qx = 0;
          for (int l = 0; l < 16; l++) {
            qx += q6(w, b, 16 * j + l) * xq[xo + 16 * j + l];
          }
          sum += xd[scale0 + s * 8 + j / 2] * d * w.get(ValueLayout.JAVA_BYTE, b + 192 + j) * qx;
        }
      } else {
        boolean five = f == WeightFormat.Q5_K;
        float dmin = dmin(w, b);
        for (int j = 0; j < 8; j++) {
          int qx = 0;
          int xs = 0;
          for (int l = 0; l < 32; l++) {
            int v = xq[xo + 32 * j + l];
            qx += q45(w, b, j, l, five) * v;
            xs += v;
          }
          sum += xd[scale0 + s * 8 + j] * (d * scale(w, b, j) * qx - dmin * min(w, b, j) * xs);
        }
      }
    }
    return sum;
  }

  private static int u8(MemorySegment w, long at) {
    return w.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
  }
}
