package io.disagg.gguf;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Reference scalar encoders and decoders for the {@link GgmlType#isSupported() supported} tensor types, following
 * ggml's reference implementation ({@code quantize_row_q8_0_ref}, {@code quantize_row_q4_0_ref} and the matching
 * dequantizers) bit for bit. They are slow on purpose — plain loops, no SIMD — and are the ground truth that faster
 * kernels are tested against.
 *
 * <p>Block layouts (little-endian): Q8_0 is an F16 scale {@code d} then 32 signed bytes, value {@code d * q}; Q4_0 is
 * an F16 scale {@code d} then 16 bytes whose low nibbles are elements 0..15 and high nibbles elements 16..31, value
 * {@code d * (nibble - 8)}. The K-quants (Q4_K, Q5_K, Q6_K: super-blocks of 256) are in {@link KQuantCodec}.
 */
public final class GgmlCodec {
  private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final int QK = 32;

  private GgmlCodec() {
  }

  /**
   * Encodes {@code values} as {@code type}.
   *
   * @throws IllegalArgumentException if the type is not supported or the length is not a multiple of its block size
   */
  public static byte[] encode(GgmlType type, float[] values) {
    Objects.requireNonNull(values, "values");
    long bytes = checked(type, values.length);
    if (bytes > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("values: %d elements (expected: fewer than 2 GiB encoded)"
          .formatted(values.length));
    }
    byte[] out = new byte[(int) bytes];
    MemorySegment seg = MemorySegment.ofArray(out);
    switch (type) {
      case F32 -> {
        for (int i = 0; i < values.length; i++) {
          seg.set(F32, 4L * i, values[i]);
        }
      }
      case F16 -> {
        for (int i = 0; i < values.length; i++) {
          seg.set(I16, 2L * i, floatToHalf(values[i]));
        }
      }
      case BF16 -> {
        for (int i = 0; i < values.length; i++) {
          seg.set(I16, 2L * i, floatToBf16(values[i]));
        }
      }
      case Q8_0 -> encodeQ80(values, seg);
      case Q4_0 -> encodeQ40(values, seg);
      case Q4_K, Q5_K, Q6_K -> KQuantCodec.encode(type, values, seg);
      default -> throw new AssertionError(type);
    }
    return out;
  }

  /**
   * Decodes the first {@code elements} values of {@code data}, which holds {@code type}'s encoding.
   *
   * @throws IllegalArgumentException if the type is not supported, {@code elements} is not a multiple of its block
   *     size or does not fit in an array, or {@code data} is shorter than {@code type.bytesFor(elements)}
   */
  public static float[] decode(GgmlType type, MemorySegment data, long elements) {
    long bytes = checked(type, elements);
    if (elements > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("elements: %d (expected: fits in a float[])".formatted(elements));
    }
    if (data.byteSize() < bytes) {
      throw new IllegalArgumentException("data: %d bytes (expected: >= %d for %d %s elements)"
          .formatted(data.byteSize(), bytes, elements, type));
    }
    int n = (int) elements;
    float[] out = new float[n];
    switch (type) {
      case F32 -> {
        for (int i = 0; i < n; i++) {
          out[i] = data.get(F32, 4L * i);
        }
      }
      case F16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = halfToFloat(data.get(I16, 2L * i));
        }
      }
      case BF16 -> {
        for (int i = 0; i < n; i++) {
          out[i] = bf16ToFloat(data.get(I16, 2L * i));
        }
      }
      case Q8_0 -> {
        for (int b = 0; b < n / QK; b++) {
          long at = (long) b * GgmlType.Q8_0.typeSize();
          float d = halfToFloat(data.get(I16, at));
          for (int j = 0; j < QK; j++) {
            out[b * QK + j] = d * data.get(ValueLayout.JAVA_BYTE, at + 2 + j);
          }
        }
      }
      case Q4_0 -> {
        for (int b = 0; b < n / QK; b++) {
          long at = (long) b * GgmlType.Q4_0.typeSize();
          float d = halfToFloat(data.get(I16, at));
          for (int j = 0; j < QK / 2; j++) {
            int q = data.get(ValueLayout.JAVA_BYTE, at + 2 + j) & 0xFF;
            out[b * QK + j] = ((q & 0x0F) - 8) * d;
            out[b * QK + j + QK / 2] = ((q >>> 4) - 8) * d;
          }
        }
      }
      case Q4_K, Q5_K, Q6_K -> KQuantCodec.decode(type, data, out);
      default -> throw new AssertionError(type);
    }
    return out;
  }

  /** IEEE 754 binary16 to binary32 (exact). */
  public static float halfToFloat(short h) {
    return Float.float16ToFloat(h);
  }

  /** binary32 to IEEE 754 binary16, round-to-nearest-even; overflow becomes infinity, NaN stays NaN. */
  public static short floatToHalf(float f) {
    return Float.floatToFloat16(f);
  }

  /** bfloat16 to binary32 (exact: bfloat16 is the top half of a binary32). */
  public static float bf16ToFloat(short b) {
    return Float.intBitsToFloat((b & 0xFFFF) << 16);
  }

  /** binary32 to bfloat16, round-to-nearest-even as ggml does; NaN is kept quiet (ggml sets bit 6). */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if ((bits & 0x7FFF_FFFF) > 0x7F80_0000) {
      return (short) ((bits >>> 16) | 64);
    }
    return (short) ((bits + (0x7FFF + ((bits >>> 16) & 1))) >>> 16);
  }

  private static void encodeQ80(float[] x, MemorySegment out) {
    for (int b = 0; b < x.length / QK; b++) {
      float amax = 0;
      for (int j = 0; j < QK; j++) {
        amax = Math.max(amax, Math.abs(x[b * QK + j]));
      }
      float d = amax / 127f;
      float id = d != 0 ? 1.0f / d : 0.0f;
      long at = (long) b * GgmlType.Q8_0.typeSize();
      out.set(I16, at, floatToHalf(d));
      for (int j = 0; j < QK; j++) {
        out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) roundHalfAway(x[b * QK + j] * id));
      }
    }
  }

  private static void encodeQ40(float[] x, MemorySegment out) {
    for (int b = 0; b < x.length / QK; b++) {
      // The scale takes the sign of the largest-magnitude element so that it maps to -8, using all 16 levels.
      float amax = 0;
      float max = 0;
      for (int j = 0; j < QK; j++) {
        float v = x[b * QK + j];
        if (amax < Math.abs(v)) {
          amax = Math.abs(v);
          max = v;
        }
      }
      float d = max / -8f;
      float id = d != 0 ? 1.0f / d : 0.0f;
      long at = (long) b * GgmlType.Q4_0.typeSize();
      out.set(I16, at, floatToHalf(d));
      for (int j = 0; j < QK / 2; j++) {
        int lo = Math.min(15, (int) (x[b * QK + j] * id + 8.5f));
        int hi = Math.min(15, (int) (x[b * QK + QK / 2 + j] * id + 8.5f));
        out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | (hi << 4)));
      }
    }
  }

  /** C's {@code roundf}: halfway cases away from zero (Java's {@link Math#round(float)} rounds them up). */
  private static float roundHalfAway(float v) {
    double r = Math.floor(Math.abs((double) v) + 0.5);
    return (float) Math.copySign(r, v);
  }

  private static long checked(GgmlType type, long elements) {
    Objects.requireNonNull(type, "type");
    if (!type.isSupported()) {
      throw new IllegalArgumentException("type: %s (expected: one of F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)".formatted(type));
    }
    return type.bytesFor(elements);
  }
}
