package io.disagg.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Scalar reference codec for ggml's K-quants, super-blocks of {@value #QK_K} elements laid out exactly as
 * {@code ggml-common.h} defines them (little-endian):
 *
 * <ul>
 *   <li><b>Q4_K</b> (144 bytes): F16 {@code d}, F16 {@code dmin}, 12 bytes of eight 6-bit scales and eight 6-bit
 *       mins ({@link #scale}, {@link #min}), 128 bytes of 4-bit values. Sub-block {@code j} (32 elements) of each 64-element
 *       group {@code g} is the low ({@code j = 2g}) or high ({@code j = 2g + 1}) nibbles of bytes
 *       {@code 32g .. 32g + 31}; value {@code d * scale_j * q - dmin * min_j}.
 *   <li><b>Q5_K</b> (176 bytes): as Q4_K, then 32 bytes {@code qh} before the 128 bytes of low nibbles: bit
 *       {@code 2g} of {@code qh[l]} is the fifth bit of element {@code l} of sub-block {@code 2g}, bit {@code 2g + 1}
 *       that of sub-block {@code 2g + 1}.
 *   <li><b>Q6_K</b> (210 bytes): 128 bytes {@code ql} (low 4 bits), 64 bytes {@code qh} (high 2 bits), 16 signed
 *       8-bit scales (one per 16 elements), F16 {@code d}; value {@code d * scale * (q - 32)}. Per 128-element half
 *       {@code n}, element {@code l + 32k} ({@code l < 32}) takes its low nibble from {@code ql[64n + l + 32(k&1)]}
 *       (low for {@code k < 2}, high otherwise) and bits {@code 2k, 2k+1} of {@code qh[32n + l]}.
 * </ul>
 *
 * <p>The decoders follow ggml's {@code dequantize_row_q*_K} bit for bit. The encoders produce valid blocks of that
 * layout with a simpler search than ggml's {@code make_qkx2_quants}: per sub-block the range {@code [min(0, lo), hi]}
 * (Q4_K, Q5_K) or the signed largest magnitude (Q6_K) sets the sub-block scale, then the scales are quantised to 6
 * (or 8) bits against the super-block scale. Files written here therefore decode identically everywhere but are not
 * byte-identical to llama.cpp's quantiser.
 */
public final class KQuantCodec {
  /** Elements per super-block. */
  public static final int QK_K = 256;

  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  private KQuantCodec() {}

  /**
   * The 6-bit scale ({@code [0]}) and min ({@code [1]}) of sub-block {@code j} (0..7) from the 12 scale bytes at
   * {@code at}, as ggml's {@code get_scale_min_k4}.
   */
  public static int scale(MemorySegment s, long at, int j) {
    return j < 4 ? u8(s, at + j) & 63 : (u8(s, at + j + 4) & 0xF) | ((u8(s, at + j - 4) >>> 6) << 4);
  }

  /** The 6-bit min of sub-block {@code j}; see {@link #scale}. */
  public static int min(MemorySegment s, long at, int j) {
    return j < 4 ? u8(s, at + j + 4) & 63 : (u8(s, at + j + 4) >>> 4) | ((u8(s, at + j) >>> 6) << 4);
  }


  static void decode(GgmlType type, MemorySegment data, float[] out) {
    for (int b = 0; b < out.length / QK_K; b++) {
      long at = (long) b * type.typeSize();
      int o = b * QK_K;
      switch (type) {
        case Q4_K, Q5_K -> {
          boolean five = type == GgmlType.Q5_K;
          float d = Float.float16ToFloat(data.get(I16, at));
          float dmin = Float.float16ToFloat(data.get(I16, at + 2));
          long qh = at + 16;
          long qs = five ? at + 48 : at + 16;
          for (int g = 0; g < 4; g++) {
            float d1 = d * scale(data, at + 4, 2 * g);
            float m1 = dmin * min(data, at + 4, 2 * g);
            float d2 = d * scale(data, at + 4, 2 * g + 1);
            float m2 = dmin * min(data, at + 4, 2 * g + 1);
            for (int l = 0; l < 32; l++) {
              int q = u8(data, qs + 32L * g + l);
              int h = five ? u8(data, qh + l) : 0;
              int lo = (q & 0xF) + (((h >>> (2 * g)) & 1) << 4);
              int hi = (q >>> 4) + (((h >>> (2 * g + 1)) & 1) << 4);
              out[o + 64 * g + l] = d1 * lo - m1;
              out[o + 64 * g + 32 + l] = d2 * hi - m2;
            }
          }
        }
        case Q6_K -> {
          float d = Float.float16ToFloat(data.get(I16, at + 208));
          for (int n = 0; n < 2; n++) {
            long ql = at + 64L * n;
            long qh = at + 128 + 32L * n;
            long sc = at + 192 + 8L * n;
            for (int l = 0; l < 32; l++) {
              int is = l / 16;
              int h = u8(data, qh + l);
              int q1 = ((u8(data, ql + l) & 0xF) | (((h >>> 0) & 3) << 4)) - 32;
              int q2 = ((u8(data, ql + l + 32) & 0xF) | (((h >>> 2) & 3) << 4)) - 32;
              int q3 = ((u8(data, ql + l) >>> 4) | (((h >>> 4) & 3) << 4)) - 32;
              int q4 = ((u8(data, ql + l + 32) >>> 4) | (((h >>> 6) & 3) << 4)) - 32;
              int y = o + 128 * n + l;
              out[y] = d * data.get(ValueLayout.JAVA_BYTE, sc + is) * q1;
              out[y + 32] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 2) * q2;
              out[y + 64] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 4) * q3;
              out[y + 96] = d * data.get(ValueLayout.JAVA_BYTE, sc + is + 6) * q4;
            }
          }
        }
        default -> throw new AssertionError(type);
      }
    }
  }

  static void encode(GgmlType type, float[] x, MemorySegment out) {
    for (int b = 0; b < x.length / QK_K; b++) {
      long at = (long) b * type.typeSize();
      switch (type) {
        case Q4_K -> encodeQ45(x, b * QK_K, out, at, 15, false);
        case Q5_K -> encodeQ45(x, b * QK_K, out, at, 31, true);
        case Q6_K -> encodeQ6(x, b * QK_K, out, at);
        default -> throw new AssertionError(type);
      }
    }
  }

  private static void encodeQ45(float[] x, int from, MemorySegment out, long at, int levels, boolean five) {
    float[] scales = new float[8];
    float[] mins = new float[8];
    float maxScale = 0;
    float maxMin = 0;
    for (int j = 0; j < 8; j++) {
      float lo = 0;
      float hi = Float.NEGATIVE_INFINITY;
      for (int l = 0; l < 32; l++) {
        float v = x[from + 32 * j + l];
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      scales[j] = Math.max(0, hi - lo) / levels;
      mins[j] = -lo;
      maxScale = Math.max(maxScale, scales[j]);
      maxMin = Math.max(maxMin, mins[j]);
    }
    short dHalf = Float.floatToFloat16(maxScale / 63);
    short dminHalf = Float.floatToFloat16(maxMin / 63);
    float d = Float.float16ToFloat(dHalf);
    float dmin = Float.float16ToFloat(dminHalf);
    int[] ls = new int[8];
    int[] lm = new int[8];
    for (int j = 0; j < 8; j++) {
      ls[j] = d == 0 ? 0 : Math.clamp(Math.round(scales[j] / d), 0, 63);
      lm[j] = dmin == 0 ? 0 : Math.clamp(Math.round(mins[j] / dmin), 0, 63);
    }
    out.set(I16, at, dHalf);
    out.set(I16, at + 2, dminHalf);
    byte[] packed = new byte[12];
    for (int j = 0; j < 8; j++) {
      if (j < 4) {
        packed[j] = (byte) ls[j];
        packed[j + 4] = (byte) lm[j];
      } else {
        packed[j + 4] = (byte) ((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
        packed[j - 4] |= (byte) ((ls[j] >>> 4) << 6);
        packed[j] |= (byte) ((lm[j] >>> 4) << 6);
      }
    }
    MemorySegment.copy(packed, 0, out, ValueLayout.JAVA_BYTE, at + 4, 12);
    int[] q = new int[QK_K];
    for (int j = 0; j < 8; j++) {
      float step = d * ls[j];
      float offset = dmin * lm[j];
      for (int l = 0; l < 32; l++) {
        int i = 32 * j + l;
        q[i] = step == 0 ? 0 : Math.clamp(Math.round((x[from + i] + offset) / step), 0, levels);
      }
    }
    long qh = at + 16;
    long qs = five ? at + 48 : at + 16;
    if (five) {
      out.asSlice(qh, 32).fill((byte) 0);
    }
    for (int g = 0; g < 4; g++) {
      for (int l = 0; l < 32; l++) {
        int lo = q[64 * g + l];
        int hi = q[64 * g + 32 + l];
        if (five) {
          int h = u8(out, qh + l) | ((lo >>> 4) << (2 * g)) | ((hi >>> 4) << (2 * g + 1));
          out.set(ValueLayout.JAVA_BYTE, qh + l, (byte) h);
        }
        out.set(ValueLayout.JAVA_BYTE, qs + 32L * g + l, (byte) ((lo & 0xF) | ((hi & 0xF) << 4)));
      }
    }
  }

  private static void encodeQ6(float[] x, int from, MemorySegment out, long at) {
    float[] scales = new float[16];
    float maxAbs = 0;
    float max = 0;
    for (int j = 0; j < 16; j++) {
      float amax = 0;
      float signed = 0;
      for (int l = 0; l < 16; l++) {
        float v = x[from + 16 * j + l];
        if (Math.abs(v) > amax) {
          amax = Math.abs(v);
          signed = v;
        }
      }
      scales[j] = signed / -32f; // the largest magnitude maps to -32, using all 64 levels as ggml does
      if (Math.abs(scales[j]) > maxAbs) {
        maxAbs = Math.abs(scales[j]);
        max = scales[j];
      }
    }
    short dHalf = Float.floatToFloat16(max / -128f);
    float d = Float.float16ToFloat(dHalf);
    int[] sc = new int[16];
    for (int j = 0; j < 16; j++) {
      sc[j] = d == 0 ? 0 : Math.clamp(Math.round(scales[j] / d), -128, 127);
      out.set(ValueLayout.JAVA_BYTE, at + 192 + j, (byte) sc[j]);
    }
    out.set(I16, at + 208, dHalf);
    int[] q = new int[QK_K];
    for (int i = 0; i < QK_K; i++) {
      float step = d * sc[i / 16];
      q[i] = step == 0 ? 32 : Math.clamp(Math.round(x[from + i] / step), -32, 31) + 32;
    }
    for (int n = 0; n < 2; n++) {
      long ql = at + 64L * n;
      long qh = at + 128 + 32L * n;
      int base = 128 * n;
      for (int l = 0; l < 32; l++) {
        int q1 = q[base + l];
        int q2 = q[base + l + 32];
        int q3 = q[base + l + 64];
        int q4 = q[base + l + 96];
        out.set(ValueLayout.JAVA_BYTE, ql + l, (byte) ((q1 & 0xF) | ((q3 & 0xF) << 4)));
        out.set(ValueLayout.JAVA_BYTE, ql + l + 32, (byte) ((q2 & 0xF) | ((q4 & 0xF) << 4)));
        out.set(ValueLayout.JAVA_BYTE, qh + l,
            (byte) ((q1 >>> 4) | ((q2 >>> 4) << 2) | ((q3 >>> 4) << 4) | ((q4 >>> 4) << 6)));
      }
    }
  }

  private static int u8(MemorySegment s, long at) {
    return s.get(ValueLayout.JAVA_BYTE, at) & 0xFF;
  }
}
