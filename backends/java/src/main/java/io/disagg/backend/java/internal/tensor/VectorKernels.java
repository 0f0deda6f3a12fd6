package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API kernels over the preferred species. Each has a twin of the same name in {@link ScalarKernels}; they
 * differ only in summation order. The quantised kernels need at least 8 float lanes (a byte vector is at least 64
 * bits); {@link #ENABLED} is false below that and callers use the scalar twins.
 */
public final class VectorKernels {
  static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
  /** Eight floats, for vectors shorter than {@link #F} (small attention heads). */
  static final VectorSpecies<Float> F8 = FloatVector.SPECIES_256;
  static final int L = F.length();
  /** As many int lanes as {@link #F} has float lanes (same shape). */
  static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
  /** {@link #L} shorts: loads exactly the halves that widen into one float vector. */
  static final VectorSpecies<Short> H =
      L >= 4 ? ShortVector.SPECIES_64.withShape(VectorShape.forBitSize(L * 16)) : null;
  /** {@link #L} bytes: loads exactly the quantised bytes that widen into one float vector. */
  static final VectorSpecies<Byte> B = L >= 8 ? ByteVector.SPECIES_64.withShape(VectorShape.forBitSize(L * 8)) : null;
  /** {@code 2L} bytes: one load that widens into two float vectors (parts 0 and 1). */
  static final VectorSpecies<Byte> B2 = L >= 8 ? ByteVector.SPECIES_64.withShape(VectorShape.forBitSize(L * 16)) : null;

  /** Whether the vector kernels may be used: wide enough vectors, and not turned off by -Ddisagg.java.scalar=true. */
  public static final boolean ENABLED = L >= 8 && L <= 16 && !Boolean.getBoolean("disagg.java.scalar");

  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private VectorKernels() {}

  /** Float lanes of the preferred species, for reports. */
  public static int lanes() {
    return L;
  }

  public static float dotF32(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = a0;
    FloatVector a2 = a0;
    FloatVector a3 = a0;
    int i = 0;
    for (int upper = n - 4 * L; i <= upper; i += 4 * L) {
      long o = offset + 4L * i;
      int xo = xOffset + i;
      a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, xo), a0);
      a1 = FloatVector.fromMemorySegment(F, w, o + 4L * L, LE).fma(FloatVector.fromArray(F, x, xo + L), a1);
      a2 = FloatVector.fromMemorySegment(F, w, o + 8L * L, LE).fma(FloatVector.fromArray(F, x, xo + 2 * L), a2);
      a3 = FloatVector.fromMemorySegment(F, w, o + 12L * L, LE).fma(FloatVector.fromArray(F, x, xo + 3 * L), a3);
    }
    for (int upper = n - L; i <= upper; i += L) {
      a0 = FloatVector.fromMemorySegment(F, w, offset + 4L * i, LE).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
    }
    float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += w.get(ScalarKernels.F32, offset + 4L * i) * x[xOffset + i];
    }
    return sum;
  }

  /**
   * {@link #dotF32} for vectors of a multiple of 8 elements shorter than the preferred vector, such as attention heads
   * of 8 or 24 (a constant 256-bit species keeps it intrinsified; masked 512-bit steps measured far slower).
   */
  public static float dotF32Short(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    FloatVector acc = FloatVector.zero(F8);
    for (int i = 0; i < n; i += 8) {
      acc = FloatVector.fromMemorySegment(F8, w, offset + 4L * i, LE)
          .fma(FloatVector.fromArray(F8, x, xOffset + i), acc);
    }
    return acc.reduceLanes(VectorOperators.ADD);
  }

  /** {@link #axpyF32} for a multiple of 8 elements, as {@link #dotF32Short}. */
  public static void axpyF32Short(float a, MemorySegment w, long offset, float[] y, int yOffset, int n) {
    FloatVector av = FloatVector.broadcast(F8, a);
    for (int i = 0; i < n; i += 8) {
      FloatVector.fromMemorySegment(F8, w, offset + 4L * i, LE)
          .fma(av, FloatVector.fromArray(F8, y, yOffset + i))
          .intoArray(y, yOffset + i);
    }
  }

  public static float dotF16(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = a0;
    int i = 0;
    // Halves are widened with integer ops: shift the exponent and mantissa into place and rebias by multiplying with
    // 2^112 (exact for normals and subnormals); infinities and NaNs (exponent all ones) get the float exponent.
    for (int upper = n - 2 * L; i <= upper; i += 2 * L) {
      long o = offset + 2L * i;
      IntVector h0 = (IntVector) ShortVector.fromMemorySegment(H, w, o, LE).convertShape(VectorOperators.S2I, I, 0);
      IntVector h1 = (IntVector) ShortVector.fromMemorySegment(H, w, o + 2L * L, LE)
          .convertShape(VectorOperators.S2I, I, 0);
      IntVector m0 = h0.and(0x7FFF);
      IntVector m1 = h1.and(0x7FFF);
      IntVector e0 = m0.lanewise(VectorOperators.LSHL, 13);
      IntVector e1 = m1.lanewise(VectorOperators.LSHL, 13);
      IntVector f0 = e0.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
          .blend(e0.or(0x7F800000), m0.compare(VectorOperators.GE, 0x7C00))
          .or(h0.and(0x8000).lanewise(VectorOperators.LSHL, 16));
      IntVector f1 = e1.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
          .blend(e1.or(0x7F800000), m1.compare(VectorOperators.GE, 0x7C00))
          .or(h1.and(0x8000).lanewise(VectorOperators.LSHL, 16));
      a0 = f0.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOffset + i), a0);
      a1 = f1.reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
    }
    float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += Float.float16ToFloat(w.get(ScalarKernels.I16, offset + 2L * i)) * x[xOffset + i];
    }
    return sum;
  }

  public static float dotBf16(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = a0;
    int i = 0;
    for (int upper = n - 2 * L; i <= upper; i += 2 * L) {
      long o = offset + 2L * i;
      FloatVector f0 = ((IntVector) ShortVector.fromMemorySegment(H, w, o, LE).convertShape(VectorOperators.S2I, I, 0))
          .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      FloatVector f1 = ((IntVector) ShortVector.fromMemorySegment(H, w, o + 2L * L, LE)
          .convertShape(VectorOperators.S2I, I, 0)).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
      a0 = f0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
      a1 = f1.fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
    }
    float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += ScalarKernels.bf16ToFloat(w.get(ScalarKernels.I16, offset + 2L * i)) * x[xOffset + i];
    }
    return sum;
  }

  // The quantised kernels below are written out without helper methods that take or return vectors: when the JIT
  // declines to inline such a helper (large callers exceed its budget), every vector crossing the call is boxed and
  // the kernel runs ~6x slower. Measured on this machine.

  public static float dotQ8_0(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    int blockBytes = WeightFormat.Q8_0.blockBytes();
    int qk = WeightFormat.QK;
    FloatVector acc0 = FloatVector.zero(F);
    FloatVector acc1 = acc0;
    int blocks = n / qk;
    int b = 0;
    // Two blocks per iteration (two independent chains), each block read as 2L-byte loads widened in two parts:
    // fewer, wider loads measured ~30% faster than one L-byte load per float vector.
    for (; b + 1 < blocks; b += 2) {
      long o0 = offset + (long) b * blockBytes;
      long o1 = o0 + blockBytes;
      int x0 = xOffset + b * qk;
      int x1 = x0 + qk;
      ByteVector q0 = ByteVector.fromMemorySegment(B2, w, o0 + 2, LE);
      FloatVector s0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, x0));
      s0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, x, x0 + L), s0);
      ByteVector q1 = ByteVector.fromMemorySegment(B2, w, o1 + 2, LE);
      FloatVector s1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).mul(FloatVector.fromArray(F, x, x1));
      s1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 1)).fma(FloatVector.fromArray(F, x, x1 + L), s1);
      for (int j = 2 * L; j < qk; j += 2 * L) { // only with 8-lane vectors
        q0 = ByteVector.fromMemorySegment(B2, w, o0 + 2 + j, LE);
        s0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, x0 + j), s0);
        s0 = ((FloatVector) q0.convertShape(VectorOperators.B2F, F, 1))
            .fma(FloatVector.fromArray(F, x, x0 + j + L), s0);
        q1 = ByteVector.fromMemorySegment(B2, w, o1 + 2 + j, LE);
        s1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 0)).fma(FloatVector.fromArray(F, x, x1 + j), s1);
        s1 = ((FloatVector) q1.convertShape(VectorOperators.B2F, F, 1))
            .fma(FloatVector.fromArray(F, x, x1 + j + L), s1);
      }
      acc0 = s0.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(ScalarKernels.I16, o0))), acc0);
      acc1 = s1.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(ScalarKernels.I16, o1))), acc1);
    }
    float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    if (b < blocks) {
      sum += ScalarKernels.dotQ8_0(w, offset + (long) b * blockBytes, x, xOffset + b * qk, qk);
    }
    return sum;
  }

  public static float dotQ4_0(MemorySegment w, long offset, float[] x, int xOffset, int n) {
    int blockBytes = WeightFormat.Q4_0.blockBytes();
    int qk = WeightFormat.QK;
    int half = qk / 2;
    FloatVector acc0 = FloatVector.zero(F);
    FloatVector acc1 = acc0;
    int blocks = n / qk;
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
      long o0 = offset + (long) b * blockBytes;
      long o1 = o0 + blockBytes;
      int x0 = xOffset + b * qk;
      int x1 = x0 + qk;
      FloatVector s0 = FloatVector.zero(F);
      FloatVector s1 = s0;
      for (int j = 0; j < half; j += L) {
        ByteVector p0 = ByteVector.fromMemorySegment(B, w, o0 + 2 + j, LE);
        ByteVector p1 = ByteVector.fromMemorySegment(B, w, o1 + 2 + j, LE);
        s0 = ((FloatVector) p0.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
            .fma(FloatVector.fromArray(F, x, x0 + j), s0);
        s1 = ((FloatVector) p1.and((byte) 0x0F).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
            .fma(FloatVector.fromArray(F, x, x1 + j), s1);
        s0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
            .fma(FloatVector.fromArray(F, x, x0 + half + j), s0);
        s1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, F, 0))
            .fma(FloatVector.fromArray(F, x, x1 + half + j), s1);
      }
      acc0 = s0.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(ScalarKernels.I16, o0))), acc0);
      acc1 = s1.fma(FloatVector.broadcast(F, Float.float16ToFloat(w.get(ScalarKernels.I16, o1))), acc1);
    }
    float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    if (b < blocks) {
      sum += ScalarKernels.dotQ4_0(w, offset + (long) b * blockBytes, x, xOffset + b * qk, qk);
    }
    return sum;
  }

  /**
   * {@link ScalarKernels#dotQ8_0Q8}: Q8_0 weights against int8 activations. Per block, L weight bytes at a time are
   * sign-extended to shorts and multiplied by the activation shorts; two such products are added in 16 bits (each is
   * at most 128 × 127 in magnitude, so the sum cannot overflow), widened to float once and multiplied by both block
   * scales. Per 32 weights that is two widenings, two 16-bit multiplies and one conversion to float, against four
   * widenings and four conversions when every weight is decoded to float.
   */
  public static float dotQ8_0Q8(MemorySegment w, long offset, short[] xq, float[] xd, int xOffset, int n) {
    int blockBytes = WeightFormat.Q8_0.blockBytes();
    int qk = WeightFormat.QK;
    FloatVector acc0 = FloatVector.zero(F);
    FloatVector acc1 = acc0;
    int blocks = n / qk;
    int scale0 = xOffset / qk; // xOffset is a multiple of 32: blocks of activations and weights line up
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
      long o0 = offset + (long) b * blockBytes;
      long o1 = o0 + blockBytes;
      int x0 = xOffset + b * qk;
      int x1 = x0 + qk;
      ShortVector p0 = ((ShortVector) ByteVector.fromMemorySegment(B, w, o0 + 2, LE)
          .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x0))
          .add(((ShortVector) ByteVector.fromMemorySegment(B, w, o0 + 2 + L, LE)
              .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x0 + L)));
      FloatVector s0 = (FloatVector) p0.convertShape(VectorOperators.S2F, F, 0);
      ShortVector p1 = ((ShortVector) ByteVector.fromMemorySegment(B, w, o1 + 2, LE)
          .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x1))
          .add(((ShortVector) ByteVector.fromMemorySegment(B, w, o1 + 2 + L, LE)
              .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x1 + L)));
      FloatVector s1 = (FloatVector) p1.convertShape(VectorOperators.S2F, F, 0);
      for (int j = 2 * L; j < qk; j += 2 * L) { // only with 8-lane vectors
        p0 = ((ShortVector) ByteVector.fromMemorySegment(B, w, o0 + 2 + j, LE)
            .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x0 + j))
            .add(((ShortVector) ByteVector.fromMemorySegment(B, w, o0 + 2 + j + L, LE)
                .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x0 + j + L)));
        s0 = s0.add((FloatVector) p0.convertShape(VectorOperators.S2F, F, 0));
        p1 = ((ShortVector) ByteVector.fromMemorySegment(B, w, o1 + 2 + j, LE)
            .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x1 + j))
            .add(((ShortVector) ByteVector.fromMemorySegment(B, w, o1 + 2 + j + L, LE)
                .convertShape(VectorOperators.B2S, H, 0)).mul(ShortVector.fromArray(H, xq, x1 + j + L)));
        s1 = s1.add((FloatVector) p1.convertShape(VectorOperators.S2F, F, 0));
      }
      acc0 = s0.fma(FloatVector.broadcast(F,
          Float.float16ToFloat(w.get(ScalarKernels.I16, o0)) * xd[scale0 + b]), acc0);
      acc1 = s1.fma(FloatVector.broadcast(F,
          Float.float16ToFloat(w.get(ScalarKernels.I16, o1)) * xd[scale0 + b + 1]), acc1);
    }
    float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    if (b < blocks) {
      sum += ScalarKernels.dotQ8_0Q8(w, offset + (long) b * blockBytes, xq, xd, xOffset + b * qk, qk);
    }
    return sum;
  }

  /**
   * {@link ScalarKernels#dotQ4_0Q8}: Q4_0 weights against int8 activations. L packed bytes are sign-extended to shorts
   * once; the low and high nibbles are cut out with 16-bit shifts and masks (x86 has no byte shifts, so nibble
   * extraction on bytes is emulated and slow), offset by 8, multiplied by the activations of elements {@code j} and
   * {@code 16 + j} and added in 16 bits, then handled as in {@link #dotQ8_0Q8}.
   */
  public static float dotQ4_0Q8(MemorySegment w, long offset, short[] xq, float[] xd, int xOffset, int n) {
    int blockBytes = WeightFormat.Q4_0.blockBytes();
    int qk = WeightFormat.QK;
    int half = qk / 2;
    FloatVector acc0 = FloatVector.zero(F);
    FloatVector acc1 = acc0;
    int blocks = n / qk;
    int scale0 = xOffset / qk; // xOffset is a multiple of 32: blocks of activations and weights line up
    int b = 0;
    for (; b + 1 < blocks; b += 2) {
      long o0 = offset + (long) b * blockBytes;
      long o1 = o0 + blockBytes;
      int x0 = xOffset + b * qk;
      int x1 = x0 + qk;
      ShortVector q0 = (ShortVector) ByteVector.fromMemorySegment(B, w, o0 + 2, LE)
          .convertShape(VectorOperators.B2S, H, 0);
      ShortVector q1 = (ShortVector) ByteVector.fromMemorySegment(B, w, o1 + 2, LE)
          .convertShape(VectorOperators.B2S, H, 0);
      ShortVector p0 = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(H, xq, x0))
          .add(q0.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8)
              .mul(ShortVector.fromArray(H, xq, x0 + half)));
      ShortVector p1 = q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(H, xq, x1))
          .add(q1.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8)
              .mul(ShortVector.fromArray(H, xq, x1 + half)));
      FloatVector s0 = (FloatVector) p0.convertShape(VectorOperators.S2F, F, 0);
      FloatVector s1 = (FloatVector) p1.convertShape(VectorOperators.S2F, F, 0);
      for (int j = L; j < half; j += L) { // only with 8-lane vectors
        q0 = (ShortVector) ByteVector.fromMemorySegment(B, w, o0 + 2 + j, LE).convertShape(VectorOperators.B2S, H, 0);
        q1 = (ShortVector) ByteVector.fromMemorySegment(B, w, o1 + 2 + j, LE).convertShape(VectorOperators.B2S, H, 0);
        p0 = q0.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(H, xq, x0 + j))
            .add(q0.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8)
                .mul(ShortVector.fromArray(H, xq, x0 + half + j)));
        p1 = q1.and((short) 0x0F).sub((short) 8).mul(ShortVector.fromArray(H, xq, x1 + j))
            .add(q1.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).sub((short) 8)
                .mul(ShortVector.fromArray(H, xq, x1 + half + j)));
        s0 = s0.add((FloatVector) p0.convertShape(VectorOperators.S2F, F, 0));
        s1 = s1.add((FloatVector) p1.convertShape(VectorOperators.S2F, F, 0));
      }
      acc0 = s0.fma(FloatVector.broadcast(F,
          Float.float16ToFloat(w.get(ScalarKernels.I16, o0)) * xd[scale0 + b]), acc0);
      acc1 = s1.fma(FloatVector.broadcast(F,
          Float.float16ToFloat(w.get(ScalarKernels.I16, o1)) * xd[scale0 + b + 1]), acc1);
    }
    float sum = acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    if (b < blocks) {
      sum += ScalarKernels.dotQ4_0Q8(w, offset + (long) b * blockBytes, xq, xd, xOffset + b * qk, qk);
    }
    return sum;
  }

  /** Sum of {@code n} F32 elements: a pure streaming read, used to measure memory bandwidth. */
  public static float sumF32(MemorySegment w, long offset, long n) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = a0;
    FloatVector a2 = a0;
    FloatVector a3 = a0;
    long i = 0;
    for (long upper = n - 4L * L; i <= upper; i += 4L * L) {
      long o = offset + 4L * i;
      a0 = a0.add(FloatVector.fromMemorySegment(F, w, o, LE));
      a1 = a1.add(FloatVector.fromMemorySegment(F, w, o + 4L * L, LE));
      a2 = a2.add(FloatVector.fromMemorySegment(F, w, o + 8L * L, LE));
      a3 = a3.add(FloatVector.fromMemorySegment(F, w, o + 12L * L, LE));
    }
    float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += w.get(ScalarKernels.F32, offset + 4L * i);
    }
    return sum;
  }

  public static void axpyF32(float a, MemorySegment w, long offset, float[] y, int yOffset, int n) {
    FloatVector av = FloatVector.broadcast(F, a);
    int i = 0;
    for (int upper = n - L; i <= upper; i += L) {
      FloatVector.fromMemorySegment(F, w, offset + 4L * i, LE)
          .fma(av, FloatVector.fromArray(F, y, yOffset + i))
          .intoArray(y, yOffset + i);
    }
    for (; i < n; i++) {
      y[yOffset + i] += a * w.get(ScalarKernels.F32, offset + 4L * i);
    }
  }

  /**
   * Replaces {@code a[i]} by {@code exp(a[i] - shift)} for {@code i < n} and returns their sum: the numerator and
   * denominator of a softmax.
   */
  public static float expShift(float[] a, int n, float shift) {
    FloatVector sum = FloatVector.zero(F);
    int i = 0;
    for (int upper = n - L; i <= upper; i += L) {
      FloatVector e = FloatVector.fromArray(F, a, i).sub(shift).lanewise(VectorOperators.EXP);
      e.intoArray(a, i);
      sum = sum.add(e);
    }
    if (i < n) {
      VectorMask<Float> m = F.indexInRange(i, n);
      FloatVector e = FloatVector.fromArray(F, a, i, m).sub(shift).lanewise(VectorOperators.EXP);
      e.intoArray(a, i, m);
      sum = sum.add(e, m);
    }
    return sum.reduceLanes(VectorOperators.ADD);
  }

  /** {@code gate[i] = silu(gate[i]) * up[i]} for {@code i < n}: the SwiGLU activation. */
  public static void swiglu(float[] gate, float[] up, int n) {
    int i = 0;
    for (int upper = n - L; i <= upper; i += L) {
      FloatVector g = FloatVector.fromArray(F, gate, i);
      FloatVector silu = g.div(g.neg().lanewise(VectorOperators.EXP).add(1f));
      silu.mul(FloatVector.fromArray(F, up, i)).intoArray(gate, i);
    }
    for (; i < n; i++) {
      float g = gate[i];
      gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
    }
  }

  public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
    FloatVector a0 = FloatVector.zero(F);
    FloatVector a1 = a0;
    int i = 0;
    for (int upper = n - 2 * L; i <= upper; i += 2 * L) {
      a0 = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), a0);
      a1 = FloatVector.fromArray(F, a, aOffset + i + L).fma(FloatVector.fromArray(F, b, bOffset + i + L), a1);
    }
    for (int upper = n - L; i <= upper; i += L) {
      a0 = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), a0);
    }
    float sum = a0.add(a1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      sum += a[aOffset + i] * b[bOffset + i];
    }
    return sum;
  }

  /**
   * One weight row against {@code tokens} activation rows, four at a time, so that each weight vector loaded is used
   * four times: the inner loop of batched prefill.
   */
  public static void dotMany(float[] w, int n, float[] x, int xStride, int tokens, float[] y, int yOffset,
      int yStride) {
    int t = 0;
    for (; t + 4 <= tokens; t += 4) {
      int x0 = t * xStride;
      int x1 = x0 + xStride;
      int x2 = x1 + xStride;
      int x3 = x2 + xStride;
      FloatVector s0 = FloatVector.zero(F);
      FloatVector s1 = s0;
      FloatVector s2 = s0;
      FloatVector s3 = s0;
      int i = 0;
      for (int upper = n - L; i <= upper; i += L) {
        FloatVector wv = FloatVector.fromArray(F, w, i);
        s0 = wv.fma(FloatVector.fromArray(F, x, x0 + i), s0);
        s1 = wv.fma(FloatVector.fromArray(F, x, x1 + i), s1);
        s2 = wv.fma(FloatVector.fromArray(F, x, x2 + i), s2);
        s3 = wv.fma(FloatVector.fromArray(F, x, x3 + i), s3);
      }
      float r0 = s0.reduceLanes(VectorOperators.ADD);
      float r1 = s1.reduceLanes(VectorOperators.ADD);
      float r2 = s2.reduceLanes(VectorOperators.ADD);
      float r3 = s3.reduceLanes(VectorOperators.ADD);
      for (; i < n; i++) {
        r0 += w[i] * x[x0 + i];
        r1 += w[i] * x[x1 + i];
        r2 += w[i] * x[x2 + i];
        r3 += w[i] * x[x3 + i];
      }
      y[yOffset + t * yStride] = r0;
      y[yOffset + (t + 1) * yStride] = r1;
      y[yOffset + (t + 2) * yStride] = r2;
      y[yOffset + (t + 3) * yStride] = r3;
    }
    for (; t < tokens; t++) {
      y[yOffset + t * yStride] = dot(w, 0, x, t * xStride, n);
    }
  }

  /**
   * Four weight rows ({@code w[0..n)}, {@code w[n..2n)}, ...) against {@code tokens} activation rows, in tiles of four
   * rows by four tokens: sixteen accumulators, so each weight vector and each activation vector loaded feeds four
   * FMAs and prefill runs near the FMA peak instead of the load limit. Writes {@code y[t * yStride + yOffset + i]}.
   */
  public static void dotMany4(float[] w, int n, float[] x, int xStride, int tokens, float[] y, int yOffset,
      int yStride) {
    int t = 0;
    for (; t + 4 <= tokens; t += 4) {
      int x0 = t * xStride;
      int x1 = x0 + xStride;
      int x2 = x1 + xStride;
      int x3 = x2 + xStride;
      FloatVector s00 = FloatVector.zero(F);
      FloatVector s01 = s00;
      FloatVector s02 = s00;
      FloatVector s03 = s00;
      FloatVector s10 = s00;
      FloatVector s11 = s00;
      FloatVector s12 = s00;
      FloatVector s13 = s00;
      FloatVector s20 = s00;
      FloatVector s21 = s00;
      FloatVector s22 = s00;
      FloatVector s23 = s00;
      FloatVector s30 = s00;
      FloatVector s31 = s00;
      FloatVector s32 = s00;
      FloatVector s33 = s00;
      int i = 0;
      for (int upper = n - L; i <= upper; i += L) {
        FloatVector w0 = FloatVector.fromArray(F, w, i);
        FloatVector w1 = FloatVector.fromArray(F, w, n + i);
        FloatVector w2 = FloatVector.fromArray(F, w, 2 * n + i);
        FloatVector w3 = FloatVector.fromArray(F, w, 3 * n + i);
        FloatVector xv = FloatVector.fromArray(F, x, x0 + i);
        s00 = w0.fma(xv, s00);
        s10 = w1.fma(xv, s10);
        s20 = w2.fma(xv, s20);
        s30 = w3.fma(xv, s30);
        xv = FloatVector.fromArray(F, x, x1 + i);
        s01 = w0.fma(xv, s01);
        s11 = w1.fma(xv, s11);
        s21 = w2.fma(xv, s21);
        s31 = w3.fma(xv, s31);
        xv = FloatVector.fromArray(F, x, x2 + i);
        s02 = w0.fma(xv, s02);
        s12 = w1.fma(xv, s12);
        s22 = w2.fma(xv, s22);
        s32 = w3.fma(xv, s32);
        xv = FloatVector.fromArray(F, x, x3 + i);
        s03 = w0.fma(xv, s03);
        s13 = w1.fma(xv, s13);
        s23 = w2.fma(xv, s23);
        s33 = w3.fma(xv, s33);
      }
      y[t * yStride + yOffset] = tail(s00.reduceLanes(VectorOperators.ADD), w, 0, x, x0, i, n);
      y[(t + 1) * yStride + yOffset] = tail(s01.reduceLanes(VectorOperators.ADD), w, 0, x, x1, i, n);
      y[(t + 2) * yStride + yOffset] = tail(s02.reduceLanes(VectorOperators.ADD), w, 0, x, x2, i, n);
      y[(t + 3) * yStride + yOffset] = tail(s03.reduceLanes(VectorOperators.ADD), w, 0, x, x3, i, n);
      y[t * yStride + yOffset + 1] = tail(s10.reduceLanes(VectorOperators.ADD), w, n, x, x0, i, n);
      y[(t + 1) * yStride + yOffset + 1] = tail(s11.reduceLanes(VectorOperators.ADD), w, n, x, x1, i, n);
      y[(t + 2) * yStride + yOffset + 1] = tail(s12.reduceLanes(VectorOperators.ADD), w, n, x, x2, i, n);
      y[(t + 3) * yStride + yOffset + 1] = tail(s13.reduceLanes(VectorOperators.ADD), w, n, x, x3, i, n);
      y[t * yStride + yOffset + 2] = tail(s20.reduceLanes(VectorOperators.ADD), w, 2 * n, x, x0, i, n);
      y[(t + 1) * yStride + yOffset + 2] = tail(s21.reduceLanes(VectorOperators.ADD), w, 2 * n, x, x1, i, n);
      y[(t + 2) * yStride + yOffset + 2] = tail(s22.reduceLanes(VectorOperators.ADD), w, 2 * n, x, x2, i, n);
      y[(t + 3) * yStride + yOffset + 2] = tail(s23.reduceLanes(VectorOperators.ADD), w, 2 * n, x, x3, i, n);
      y[t * yStride + yOffset + 3] = tail(s30.reduceLanes(VectorOperators.ADD), w, 3 * n, x, x0, i, n);
      y[(t + 1) * yStride + yOffset + 3] = tail(s31.reduceLanes(VectorOperators.ADD), w, 3 * n, x, x1, i, n);
      y[(t + 2) * yStride + yOffset + 3] = tail(s32.reduceLanes(VectorOperators.ADD), w, 3 * n, x, x2, i, n);
      y[(t + 3) * yStride + yOffset + 3] = tail(s33.reduceLanes(VectorOperators.ADD), w, 3 * n, x, x3, i, n);
    }
    for (; t < tokens; t++) {
      for (int r = 0; r < 4; r++) {
        y[t * yStride + yOffset + r] = dot(w, r * n, x, t * xStride, n);
      }
    }
  }

  /** Adds the scalar remainder {@code [from, n)} of a dot product (no vector arguments, so it inlines cheaply). */
  private static float tail(float sum, float[] w, int wOffset, float[] x, int xOffset, int from, int n) {
    for (int j = from; j < n; j++) {
      sum += w[wOffset + j] * x[xOffset + j];
    }
    return sum;
  }
}
