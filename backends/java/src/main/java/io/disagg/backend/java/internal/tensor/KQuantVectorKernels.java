package io.disagg.backend.java.internal.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Vector API kernels for the K-quants, twins of {@link KQuantKernels} (tested against them on random inputs). Only
 * available when {@link VectorKernels#ENABLED}.
 */
final class KQuantVectorKernels {
  private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

  private KQuantVectorKernels() {}

  /**
   * {@link KQuantKernels#dotQ8} for Q4_K. Per 64-element group, L packed bytes are widened to shorts once; low and
   * high nibbles (sub-blocks 2g and 2g + 1) are cut out with 16-bit masks and shifts and multiplied by the int8
   * activations in 16 bits (at most 15 · 127 per lane, summed over at most 4 steps: no overflow), as is the sum of
   * the activations for the min term. Each sub-block's sums are converted to float and accumulated with one FMA by
   * its combined scale, so lanes are reduced once per row, not per sub-block.
   */
  static float dotQ4_KQ8(MemorySegment w, long offset, short[] xq, float[] xd, int xOffset, int n) {
    int lanes = VectorKernels.L;
    FloatVector accQ = FloatVector.zero(VectorKernels.F);
    FloatVector accM = accQ;
    int scale0 = xOffset / WeightFormat.QK;
    int blockBytes = WeightFormat.Q4_K.blockBytes();
    for (int s = 0; s < n / 256; s++) {
      long b = offset + (long) s * blockBytes;
      float d = KQuantKernels.d(WeightFormat.Q4_K, w, b);
      float dmin = KQuantKernels.dmin(w, b);
      int xo = xOffset + s * 256;
      for (int g = 0; g < 4; g++) {
        long qs = b + 16 + 32L * g;
        int x0 = xo + 64 * g;
        ShortVector pLo = ShortVector.zero(VectorKernels.H);
        ShortVector pHi = pLo;
        ShortVector sLo = pLo;
        ShortVector sHi = pLo;
        for (int l = 0; l < 32; l += lanes) {
          ShortVector q = (ShortVector) ByteVector.fromMemorySegment(VectorKernels.B, w, qs + l, LE)
              .convertShape(VectorOperators.B2S, VectorKernels.H, 0);
          ShortVector xLo = ShortVector.fromArray(VectorKernels.H, xq, x0 + l);
          ShortVector xHi = ShortVector.fromArray(VectorKernels.H, xq, x0 + 32 + l);
          pLo = pLo.add(q.and((short) 0x0F).mul(xLo));
          pHi = pHi.add(q.lanewise(VectorOperators.ASHR, 4).and((short) 0x0F).mul(xHi));
          sLo = sLo.add(xLo);
          sHi = sHi.add(xHi);
        }
        float dLo = xd[scale0 + s * 8 + 2 * g];
        float dHi = xd[scale0 + s * 8 + 2 * g + 1];
        accQ = ((FloatVector) pLo.convertShape(VectorOperators.S2F, VectorKernels.F, 0))
            .fma(FloatVector.broadcast(VectorKernels.F, dLo * d * KQuantKernels.scale(w, b, 2 * g)), accQ);
        accQ = ((FloatVector) pHi.convertShape(VectorOperators.S2F, VectorKernels.F, 0))
            .fma(FloatVector.broadcast(VectorKernels.F, dHi * d * KQuantKernels.scale(w, b, 2 * g + 1)), accQ);
        accM = ((FloatVector) sLo.convertShape(VectorOperators.S2F, VectorKernels.F, 0))
            .fma(FloatVector.broadcast(VectorKernels.F, dLo * dmin * KQuantKernels.min(w, b, 2 * g)), accM);
        accM = ((FloatVector) sHi.convertShape(VectorOperators.S2F, VectorKernels.F, 0))
            .fma(FloatVector.broadcast(VectorKernels.F, dHi * dmin * KQuantKernels.min(w, b, 2 * g + 1)), accM);
      }
    }
    return accQ.sub(accM).reduceLanes(VectorOperators.ADD);
  }
}
