package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class GgmlCodecTest {

  @Test
  void halfToFloat_knownPatterns_decodeExactly() {
    assertThat(GgmlCodec.halfToFloat((short) 0x3C00)).isEqualTo(1.0f);
    assertThat(GgmlCodec.halfToFloat((short) 0xC000)).isEqualTo(-2.0f);
    assertThat(GgmlCodec.halfToFloat((short) 0x7BFF)).isEqualTo(65504f);
    assertThat(GgmlCodec.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(GgmlCodec.halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
    assertThat(GgmlCodec.floatToHalf(1e6f)).isEqualTo((short) 0x7C00);
    // 1 + 2^-11 is halfway between 1 and the next half; ties go to even.
    assertThat(GgmlCodec.floatToHalf(1 + 0x1p-11f)).isEqualTo((short) 0x3C00);
    assertThat(GgmlCodec.floatToHalf(1 + 3 * 0x1p-11f)).isEqualTo((short) 0x3C02);
  }

  @Test
  void f16_everyRepresentableValue_roundTripsExactly() {
    float[] values = new float[1 << 16];
    int n = 0;
    for (int bits = 0; bits < 1 << 16; bits++) {
      float v = GgmlCodec.halfToFloat((short) bits);
      if (!Float.isNaN(v)) {
        values[n++] = v;
      }
    }
    float[] representable = java.util.Arrays.copyOf(values, n);
    byte[] encoded = GgmlCodec.encode(GgmlType.F16, representable);
    assertThat(encoded).hasSize(2 * n);
    assertThat(GgmlCodec.decode(GgmlType.F16, MemorySegment.ofArray(encoded), n)).isEqualTo(representable);
  }

  @Test
  void bf16_representableValues_roundTripExactlyAndRoundToNearestEven() {
    float[] values = new float[1 << 16];
    int n = 0;
    for (int bits = 0; bits < 1 << 16; bits++) {
      float v = GgmlCodec.bf16ToFloat((short) bits);
      if (!Float.isNaN(v)) {
        values[n++] = v;
      }
    }
    float[] representable = java.util.Arrays.copyOf(values, n);
    byte[] encoded = GgmlCodec.encode(GgmlType.BF16, representable);
    assertThat(GgmlCodec.decode(GgmlType.BF16, MemorySegment.ofArray(encoded), n)).isEqualTo(representable);
    // bfloat16 keeps 7 mantissa bits: 1 + 2^-8 is a tie (to even: 1.0), 1 + 3 * 2^-8 rounds up to 1 + 2^-6.
    assertThat(GgmlCodec.bf16ToFloat(GgmlCodec.floatToBf16(1 + 0x1p-8f))).isEqualTo(1.0f);
    assertThat(GgmlCodec.bf16ToFloat(GgmlCodec.floatToBf16(1 + 3 * 0x1p-8f))).isEqualTo(1 + 0x1p-6f);
    assertThat(Float.isNaN(GgmlCodec.bf16ToFloat(GgmlCodec.floatToBf16(Float.NaN)))).isTrue();
  }

  @Test
  void q8_0_block_hasGgmlLayoutAndRoundsHalfAwayFromZero() {
    float[] x = new float[32];
    x[0] = 127f;
    x[1] = -2.5f;
    x[2] = 2.5f;
    x[3] = 0.5f;
    x[4] = -0.5f;
    x[5] = -127f;
    byte[] block = GgmlCodec.encode(GgmlType.Q8_0, x);
    assertThat(block).hasSize(34);
    assertThat(block[0]).isEqualTo((byte) 0x00); // d = 1.0 = 0x3C00, little-endian
    assertThat(block[1]).isEqualTo((byte) 0x3C);
    assertThat(new byte[] {block[2], block[3], block[4], block[5], block[6], block[7]})
        .containsExactly(127, -3, 3, 1, -1, -127);
    assertThat(GgmlCodec.decode(GgmlType.Q8_0, MemorySegment.ofArray(block), 32))
        .startsWith(127f, -3f, 3f, 1f, -1f, -127f);
  }

  @Test
  void q4_0_block_hasGgmlLayout() {
    float[] x = new float[32];
    for (int j = 0; j < 16; j++) {
      x[j] = j - 8;
      x[16 + j] = 7 - j;
    }
    byte[] block = GgmlCodec.encode(GgmlType.Q4_0, x);
    assertThat(block).hasSize(18);
    // The largest magnitude is -8, so d = -8 / -8 = 1 and each nibble is x + 8.
    assertThat(block[0]).isEqualTo((byte) 0x00);
    assertThat(block[1]).isEqualTo((byte) 0x3C);
    for (int j = 0; j < 16; j++) {
      assertThat(block[2 + j]).isEqualTo((byte) (j | ((15 - j) << 4)));
    }
    assertThat(GgmlCodec.decode(GgmlType.Q4_0, MemorySegment.ofArray(block), 32)).containsExactly(x);
  }

  @Test
  void q8_0_randomValues_stayWithinHalfAStepPerBlock() {
    assertQuantisationError(GgmlType.Q8_0, 127, 0.5);
  }

  @Test
  void q4_0_randomValues_stayWithinOneStepPerBlock() {
    // The positive end is clamped at +7 steps when the scale's sign comes from a negative maximum: one full step.
    assertQuantisationError(GgmlType.Q4_0, 8, 1.0);
  }

  @Test
  void quantised_allZeroBlock_decodesToZeros() {
    for (GgmlType type : new GgmlType[] {GgmlType.Q8_0, GgmlType.Q4_0}) {
      byte[] block = GgmlCodec.encode(type, new float[32]);
      // Q4_0 gives -0.0 ((0 - 8) * 0), as ggml does; numerically zero either way.
      for (float v : GgmlCodec.decode(type, MemorySegment.ofArray(block), 32)) {
        assertThat(v == 0f).isTrue();
      }
    }
  }

  @Test
  void encode_unsupportedTypeOrPartialBlock_isRejected() {
    assertThatThrownBy(() -> GgmlCodec.encode(GgmlType.Q2_K, new float[256]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("type: Q2_K");
    assertThatThrownBy(() -> GgmlCodec.encode(GgmlType.Q8_0, new float[33]))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("block size 32");
    assertThatThrownBy(() -> GgmlCodec.decode(GgmlType.F32, MemorySegment.ofArray(new byte[7]), 2))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("data: 7 bytes");
  }

  @Test
  void ggmlType_geometry_matchesGgml() {
    assertThat(GgmlType.fromId(0)).isEqualTo(GgmlType.F32);
    assertThat(GgmlType.fromId(8)).isEqualTo(GgmlType.Q8_0);
    assertThat(GgmlType.fromId(30)).isEqualTo(GgmlType.BF16);
    assertThat(GgmlType.Q8_0.typeSize()).isEqualTo(34);
    assertThat(GgmlType.Q4_0.typeSize()).isEqualTo(18);
    assertThat(GgmlType.Q4_K.blockSize()).isEqualTo(256);
    assertThat(GgmlType.Q6_K.typeSize()).isEqualTo(210);
    assertThat(GgmlType.Q8_0.bytesFor(64)).isEqualTo(68);
    assertThat(GgmlType.BF16.bytesFor(3)).isEqualTo(6);
    assertThatThrownBy(() -> GgmlType.Q4_0.bytesFor(31)).isInstanceOf(IllegalArgumentException.class);
    assertThat(GgmlType.fromId(39)).isEqualTo(GgmlType.MXFP4);
    assertThat(GgmlType.fromId(40).bytesFor(128)).isEqualTo(72);
    assertThatThrownBy(() -> GgmlType.fromId(4)).isInstanceOf(GgufException.class).hasMessageContaining("4");
    assertThatThrownBy(() -> GgmlType.fromId(31)).isInstanceOf(GgufException.class);
    assertThatThrownBy(() -> GgmlType.fromId(-1)).isInstanceOf(GgufException.class);
    assertThat(java.util.Arrays.stream(GgmlType.values()).filter(GgmlType::isSupported))
        .containsExactlyInAnyOrder(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0,
            GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);
  }

  private static void assertQuantisationError(GgmlType type, int levels, double steps) {
    SplittableRandom random = new SplittableRandom(1234);
    float[] x = new float[32 * 64];
    for (int i = 0; i < x.length; i++) {
      // Vary the block scale over orders of magnitude so the F16 scale is exercised too.
      double scale = Math.pow(10, (i / 32) % 6 - 4);
      x[i] = (float) (random.nextGaussian() * scale);
    }
    float[] y = GgmlCodec.decode(type, MemorySegment.ofArray(GgmlCodec.encode(type, x)), x.length);
    for (int b = 0; b < x.length / 32; b++) {
      float amax = 0;
      for (int j = 0; j < 32; j++) {
        amax = Math.max(amax, Math.abs(x[b * 32 + j]));
      }
      double step = amax / levels;
      // Plus the F16 rounding of the scale (relative 2^-11, or absolute 2^-25 once subnormal), times up to `levels`.
      double bound = steps * step + levels * Math.max(step * 0x1p-11, 0x1p-25) + 1e-12;
      for (int j = 0; j < 32; j++) {
        int i = b * 32 + j;
        assertThat((double) Math.abs(x[i] - y[i])).as("%s element %d", type, i).isLessThanOrEqualTo(bound);
      }
    }
  }
}
