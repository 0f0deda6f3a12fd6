package io.disagg.backend.java.internal.tensor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.disagg.gguf.GgmlCodec;
import io.disagg.gguf.GgmlType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Every Vector API kernel against its scalar twin, and the encoded formats against the gguf module's decoder. */
class KernelTwinsTest {
  private static final int[] BLOCK_LENGTHS = {32, 64, 96, 160, 256, 768, 1056};
  private static final int[] FLOAT_LENGTHS = {1, 7, 16, 17, 48, 80, 100, 768, 1056};

  /** The block lengths that are whole blocks of {@code format} (K-quants: multiples of 256). */
  private static int[] blockLengths(WeightFormat format) {
    return java.util.Arrays.stream(BLOCK_LENGTHS).filter(c -> c % format.blockElements() == 0).toArray();
  }

  private static float[] random(SplittableRandom rnd, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rnd.nextGaussian();
    }
    return v;
  }

  private static GgmlType ggml(WeightFormat f) {
    return GgmlType.valueOf(f.name());
  }

  private static MemorySegment encode(Arena arena, WeightFormat format, float[] values) {
    byte[] bytes = GgmlCodec.encode(ggml(format), values);
    MemorySegment seg = arena.allocate(bytes.length + 3L).asSlice(3); // deliberately unaligned
    MemorySegment.copy(bytes, 0, seg, ValueLayout.JAVA_BYTE, 0, bytes.length);
    return seg.asSlice(0, bytes.length);
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void dot_vectorKernel_matchesScalarTwinAndCodecDecode(WeightFormat format) {
    SplittableRandom rnd = new SplittableRandom(42 + format.ordinal());
    try (Arena arena = Arena.ofConfined()) {
      int[] lengths = format.blockElements() == 1 ? FLOAT_LENGTHS : blockLengths(format);
      for (int cols : lengths) {
        int rows = 3;
        float[] weights = random(rnd, rows * cols);
        MemorySegment data = encode(arena, format, weights);
        WeightMatrix m = WeightMatrix.of(format, data, rows, cols);
        float[] decoded = GgmlCodec.decode(ggml(format), data, (long) rows * cols);
        float[] x = random(rnd, cols + 5);
        for (int r = 0; r < rows; r++) {
          double reference = 0;
          for (int i = 0; i < cols; i++) {
            reference += (double) decoded[r * cols + i] * x[2 + i];
          }
          float tolerance = 1e-4f * cols;
          assertThat(m.dotScalar(r, x, 2)).as("%s scalar, cols %d", format, cols)
              .isCloseTo((float) reference, within(tolerance));
          if (VectorKernels.ENABLED) {
            assertThat(m.dot(r, x, 2)).as("%s vector, cols %d", format, cols)
                .isCloseTo(m.dotScalar(r, x, 2), within(tolerance));
          }
          float[] row = new float[cols];
          m.decodeRow(r, row, 0);
          for (int i = 0; i < cols; i++) {
            assertThat(row[i]).isEqualTo(decoded[r * cols + i]);
          }
        }
      }
    }
  }

  @ParameterizedTest
  @EnumSource(WeightFormat.class)
  void matMat_batchedRows_matchOneRowAtATime(WeightFormat format) {
    SplittableRandom rnd = new SplittableRandom(7);
    int rows = 9;
    int cols = format.blockElements() > 32 ? 512 : 96;
    try (Arena arena = Arena.ofConfined()) {
      WeightMatrix m = WeightMatrix.of(format, encode(arena, format, random(rnd, rows * cols)), rows, cols);
      for (int tokens : new int[] {1, 3, 4, 7}) {
        float[] x = random(rnd, tokens * cols);
        float[] y = new float[tokens * rows];
        m.matMat(x, cols, tokens, y, rows, 2, rows, new float[4 * cols]);
        for (int t = 0; t < tokens; t++) {
          for (int r = 0; r < rows; r++) {
            float expected = r < 2 ? 0f : m.dotScalar(r, x, t * cols);
            assertThat(y[t * rows + r]).as("token %d row %d", t, r).isCloseTo(expected, within(1e-3f));
          }
        }
      }
    }
  }

  /**
   * The integer kernels for int8 activations: vector against scalar twin (they differ only in float summation order),
   * and both against the gguf decoder's weights times the float activations, within the activation quantisation
   * error: each activation moves by at most half its block's step {@code d}, so the product moves by at most
   * {@code Σ |w_i| * d_i / 2}.
   */
  @ParameterizedTest
  @EnumSource(value = WeightFormat.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
  void dotQ8_vectorKernel_matchesScalarTwinAndDecodedWeightsWithinQuantisationError(WeightFormat format) {
    SplittableRandom rnd = new SplittableRandom(101 + format.ordinal());
    try (Arena arena = Arena.ofConfined()) {
      for (int cols : blockLengths(format)) {
        int rows = 3;
        int tokens = 2;
        float[] weights = random(rnd, rows * cols);
        MemorySegment data = encode(arena, format, weights);
        WeightMatrix m = WeightMatrix.of(format, data, rows, cols);
        assertThat(m.takesQ8Activations()).isTrue();
        float[] decoded = GgmlCodec.decode(ggml(format), data, (long) rows * cols);
        float[] x = random(rnd, tokens * cols);
        x[3] = 40f; // one outlier coarsens its block's step
        Q8Activations q = new Q8Activations();
        q.quantize(x, cols, tokens, cols);
        float[] y = new float[tokens * rows];
        m.matMatQ8(q, y, rows, 0, rows);
        for (int t = 0; t < tokens; t++) {
          for (int r = 0; r < rows; r++) {
            double exact = 0;
            double bound = 0;
            double magnitude = 0;
            for (int i = 0; i < cols; i++) {
              double wi = decoded[r * cols + i];
              exact += wi * x[t * cols + i];
              bound += Math.abs(wi) * q.scale(t, i) / 2;
              magnitude += Math.abs(wi * x[t * cols + i]);
            }
            float rounding = 1e-5f * (float) magnitude + 1e-6f;
            float scalar = m.dotQ8Scalar(r, q, t);
            assertThat((double) scalar).as("%s scalar, cols %d", format, cols)
                .isCloseTo(exact, within(bound + rounding));
            assertThat(m.dotQ8(r, q, t)).as("%s vector, cols %d", format, cols).isCloseTo(scalar, within(rounding));
            assertThat(y[t * rows + r]).isEqualTo(m.dotQ8(r, q, t));
          }
        }
      }
    }
  }

  /** Extreme values cannot overflow the 16-bit pair sums: bytes of -128 (no encoder writes them) times -127. */
  @Test
  void dotQ8_0Q8_extremeBytes_doNotOverflow() {
    int cols = 128;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment row = arena.allocate(WeightFormat.Q8_0.rowBytes(cols));
      for (int b = 0; b < cols / 32; b++) {
        row.set(ValueLayout.JAVA_SHORT_UNALIGNED, b * 34L, Float.floatToFloat16(1f));
        for (int j = 0; j < 32; j++) {
          row.set(ValueLayout.JAVA_BYTE, b * 34L + 2 + j, (byte) -128);
        }
      }
      WeightMatrix m = WeightMatrix.of(WeightFormat.Q8_0, row, 1, cols);
      float[] x = new float[cols];
      java.util.Arrays.fill(x, -1f);
      Q8Activations q = new Q8Activations();
      q.quantize(x, cols, 1, cols);
      float expected = cols * 128f; // each element: -128 * (-127 * 1/127)
      assertThat(m.dotQ8Scalar(0, q, 0)).isCloseTo(expected, within(1e-2f));
      assertThat(m.dotQ8(0, q, 0)).isCloseTo(expected, within(1e-2f));
    }
  }

  @Test
  void q8Activations_roundTripWithinHalfAStep() {
    SplittableRandom rnd = new SplittableRandom(5);
    int cols = 96;
    float[] x = random(rnd, 2 * cols + 7);
    x[40] = -9f;
    java.util.Arrays.fill(x, 64, 96, 0f); // an all-zero block has scale 0
    Q8Activations q = new Q8Activations();
    q.quantize(x, cols + 7, 2, cols);
    for (int t = 0; t < 2; t++) {
      for (int i = 0; i < cols; i++) {
        float v = x[t * (cols + 7) + i];
        assertThat(q.dequantized(t, i)).as("row %d element %d", t, i)
            .isCloseTo(v, within(q.scale(t, i) / 2 * 1.0001f + 1e-7f));
      }
    }
    assertThat(q.scale(0, 40)).isEqualTo(9f / 127f);
    assertThat(q.scale(0, 70)).isZero();
    assertThat(q.dequantized(0, 40)).isEqualTo(-9f);
  }

  @ParameterizedTest
  @EnumSource(value = WeightFormat.class, names = {"F32", "F16", "BF16"})
  void dotQ8_floatFormats_areRefused(WeightFormat format) {
    try (Arena arena = Arena.ofConfined()) {
      WeightMatrix m = WeightMatrix.of(format, encode(arena, format, new float[32]), 1, 32);
      assertThat(m.takesQ8Activations()).isFalse();
      Q8Activations q = new Q8Activations();
      q.quantize(new float[32], 32, 1, 32);
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.dotQ8(0, q, 0))
          .isInstanceOf(UnsupportedOperationException.class);
    }
  }

  @Test
  void heapKernels_vector_matchScalarTwins() {
    SplittableRandom rnd = new SplittableRandom(3);
    try (Arena arena = Arena.ofConfined()) {
      for (int n : new int[] {1, 7, 8, 16, 33, 64, 100, 257}) {
        float[] a = random(rnd, n + 3);
        float[] b = random(rnd, n + 1);
        assertThat(VectorKernels.dot(a, 3, b, 1, n)).isCloseTo(ScalarKernels.dot(a, 3, b, 1, n), within(1e-4f * n));

        MemorySegment seg = arena.allocate(4L * n + 4).asSlice(4);
        for (int i = 0; i < n; i++) {
          seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i, (float) rnd.nextGaussian());
        }
        assertThat(VectorKernels.dotF32(seg, 0, b, 1, n))
            .isCloseTo(ScalarKernels.dotF32(seg, 0, b, 1, n), within(1e-4f * n));

        assertThat(VectorKernels.sumF32(seg, 0, n)).isCloseTo(ScalarKernels.sumF32(seg, 0, n), within(1e-4f * n));

        if (n % 8 == 0) {
          assertThat(VectorKernels.dotF32Short(seg, 0, b, 1, n))
              .isCloseTo(ScalarKernels.dotF32(seg, 0, b, 1, n), within(1e-4f * n));
          float[] z1 = random(rnd, n + 2);
          float[] z2 = z1.clone();
          VectorKernels.axpyF32Short(-1.5f, seg, 0, z1, 2, n);
          ScalarKernels.axpyF32(-1.5f, seg, 0, z2, 2, n);
          assertThat(z1).containsExactly(z2, within(1e-5f));
        }

        float[] y1 = random(rnd, n + 2);
        float[] y2 = y1.clone();
        VectorKernels.axpyF32(0.37f, seg, 0, y1, 2, n);
        ScalarKernels.axpyF32(0.37f, seg, 0, y2, 2, n);
        assertThat(y1).containsExactly(y2, within(1e-5f));

        int tokens = 6;
        float[] w = random(rnd, n);
        float[] x = random(rnd, tokens * (n + 1));
        float[] v = new float[tokens * 2];
        float[] s = new float[tokens * 2];
        VectorKernels.dotMany(w, n, x, n + 1, tokens, v, 1, 2);
        ScalarKernels.dotMany(w, n, x, n + 1, tokens, s, 1, 2);
        assertThat(v).containsExactly(s, within(1e-4f * n));

        float[] w4 = random(rnd, 4 * n);
        float[] v4 = new float[tokens * 5];
        float[] s4 = new float[tokens * 5];
        VectorKernels.dotMany4(w4, n, x, n + 1, tokens, v4, 1, 5);
        ScalarKernels.dotMany4(w4, n, x, n + 1, tokens, s4, 1, 5);
        assertThat(v4).containsExactly(s4, within(1e-4f * n));
      }
    }
  }

  @Test
  void activationKernels_vector_matchScalarTwins() {
    SplittableRandom rnd = new SplittableRandom(9);
    for (int n : new int[] {1, 5, 16, 17, 100, 344}) {
      float[] a = random(rnd, n);
      float[] b = a.clone();
      float shift = 0.5f;
      float sv = VectorKernels.expShift(a, n, shift);
      float ss = ScalarKernels.expShift(b, n, shift);
      assertThat(sv).isCloseTo(ss, within(1e-5f * n * 4));
      for (int i = 0; i < n; i++) {
        assertThat(a[i]).isCloseTo(b[i], within(Math.abs(b[i]) * 1e-5f));
      }
      float[] gate = random(rnd, n);
      float[] up = random(rnd, n);
      float[] gate2 = gate.clone();
      VectorKernels.swiglu(gate, up, n);
      ScalarKernels.swiglu(gate2, up, n);
      for (int i = 0; i < n; i++) {
        assertThat(gate[i]).isCloseTo(gate2[i], within(1e-5f + Math.abs(gate2[i]) * 1e-5f));
      }
    }
  }

  /**
   * Every one of the 65536 half (and bfloat16) bit patterns goes through the vector dot kernel's widening exactly:
   * the pattern sits in one lane of an otherwise zero row and is multiplied by a one-hot activation.
   */
  @ParameterizedTest
  @EnumSource(value = WeightFormat.class, names = {"F16", "BF16"})
  void dot_everyHalfBitPattern_widensExactly(WeightFormat format) {
    if (!VectorKernels.ENABLED) {
      return;
    }
    int n = 2 * VectorKernels.L; // one iteration of the unrolled vector loop, no scalar tail
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment row = arena.allocate(2L * n);
      float[] x = new float[n];
      WeightMatrix m = WeightMatrix.of(format, row, 1, n);
      for (int bits = 0; bits < 65536; bits++) {
        int lane = bits % n;
        row.fill((byte) 0);
        row.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED, lane, (short) bits);
        java.util.Arrays.fill(x, 0f);
        x[lane] = 1f;
        float expected = format == WeightFormat.F16
            ? Float.float16ToFloat((short) bits)
            : ScalarKernels.bf16ToFloat((short) bits);
        float actual = m.dot(0, x, 0);
        if (Float.isNaN(expected)) {
          assertThat(actual).as("%s 0x%04x", format, bits).isNaN();
        } else if (expected == 0f) {
          assertThat(actual).as("%s 0x%04x", format, bits).isZero(); // -0 + 0 sums to +0
        } else {
          assertThat(Float.floatToRawIntBits(actual)).as("%s 0x%04x", format, bits)
              .isEqualTo(Float.floatToRawIntBits(expected));
        }
      }
    }
  }
}
