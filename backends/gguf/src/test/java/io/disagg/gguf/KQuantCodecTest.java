package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KQuantCodecTest {
  private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** A Q4_K block built by hand from ggml's layout: sub-block 5 uses the packed high scale bits. */
  @Test
  void decode_q4K_handBuiltBlock_followsGgmlLayout() {
    byte[] block = new byte[144];
    MemorySegment s = MemorySegment.ofArray(block);
    s.set(I16, 0, Float.floatToFloat16(0.5f)); // d
    s.set(I16, 2, Float.floatToFloat16(0.25f)); // dmin
    // Sub-block 1: scale 3, min 7 (j < 4: bytes 1 and 5). Sub-block 5: scale 37 = 0b10_0101, min 50 = 0b11_0010
    // (j >= 4: low nibbles in byte 4 + 4 + 5 = 13 → scales[9]; high two bits in the top of scales[1] and scales[5]).
    block[4 + 1] = (byte) (3 | (2 << 6));
    block[4 + 5] = (byte) (7 | (3 << 6));
    block[4 + 9] = (byte) (5 | (2 << 4));
    // Element 32 + 4 (sub-block 1 = high nibbles of group 0, byte 4) = 9; element 5 * 32 + 6 (sub-block 5 = high
    // nibbles of group 2, byte 64 + 6) = 11.
    block[16 + 4] = (byte) (9 << 4);
    block[16 + 64 + 6] = (byte) (11 << 4);
    float[] v = GgmlCodec.decode(GgmlType.Q4_K, s, 256);
    assertThat(v[36]).isEqualTo(0.5f * 3 * 9 - 0.25f * 7);
    assertThat(v[166]).isEqualTo(0.5f * 37 * 11 - 0.25f * 50);
    assertThat(v[0]).isEqualTo(0f); // scale 0, min 0
    assertThat(KQuantCodec.scale(s, 4, 5)).isEqualTo(37);
    assertThat(KQuantCodec.min(s, 4, 5)).isEqualTo(50);
  }

  /** A Q6_K block by hand: element 64 + 128 + 3 takes the high nibble of ql[64 + 3] and bits 4..5 of qh[32 + 3]. */
  @Test
  void decode_q6K_handBuiltBlock_followsGgmlLayout() {
    byte[] block = new byte[210];
    MemorySegment s = MemorySegment.ofArray(block);
    s.set(I16, 208, Float.floatToFloat16(0.125f));
    block[64 + 3] = (byte) (0xA << 4); // ql, second half, element l = 3 of the third quarter
    block[128 + 32 + 3] = (byte) (2 << 4); // qh, second half, bits 4..5
    block[192 + 12] = (byte) -5; // scale of elements 192..207
    float[] v = GgmlCodec.decode(GgmlType.Q6_K, s, 256);
    int q = (0xA | (2 << 4)) - 32;
    assertThat(v[128 + 64 + 3]).isEqualTo(0.125f * -5 * q);
    assertThat(v[0]).isEqualTo(0f); // scale 0
  }

  @ParameterizedTest
  @EnumSource(value = GgmlType.class, names = {"Q4_K", "Q5_K", "Q6_K"})
  void encodeThenDecode_randomValues_staysWithinTheFormatsResolution(GgmlType type) {
    SplittableRandom rnd = new SplittableRandom(type.id());
    float[] x = new float[4 * 256];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (rnd.nextGaussian() * (1 + i / 256));
    }
    byte[] encoded = GgmlCodec.encode(type, x);
    assertThat(encoded).hasSize(4 * type.typeSize());
    float[] back = GgmlCodec.decode(type, MemorySegment.ofArray(encoded), x.length);
    // Levels per sub-block: 16 (Q4_K), 32 (Q5_K), 64 (Q6_K); scales themselves quantised to 6 or 8 bits.
    double relative = switch (type) {
      case Q4_K -> 0.20;
      case Q5_K -> 0.10;
      default -> 0.06;
    };
    double err = 0;
    double norm = 0;
    for (int i = 0; i < x.length; i++) {
      err += (x[i] - back[i]) * (x[i] - back[i]);
      norm += x[i] * x[i];
    }
    assertThat(Math.sqrt(err / norm)).as("%s relative RMS error", type).isLessThan(relative);
    for (int b = 0; b < 4; b++) {
      float max = 0;
      for (int i = 0; i < 256; i++) {
        max = Math.max(max, Math.abs(x[b * 256 + i]));
      }
      for (int i = 0; i < 256; i++) {
        assertThat(back[b * 256 + i]).isCloseTo(x[b * 256 + i], within(max * 0.25f));
      }
    }
  }

  @Test
  void encode_zeros_decodeToZeros() {
    for (GgmlType type : new GgmlType[] {GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
      float[] back = GgmlCodec.decode(type, MemorySegment.ofArray(GgmlCodec.encode(type, new float[256])), 256);
      for (float v : back) {
        assertThat(Math.abs(v)).as("%s", type).isZero();
      }
    }
  }
}
