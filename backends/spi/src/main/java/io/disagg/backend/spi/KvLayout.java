package io.disagg.backend.spi;

/**
 * Shape of a paged KV cache. A block holds {@code blockTokens} token positions for every layer, laid out as
 * {@code [layer][k=0|v=1][tokenInBlock][kvHead][headDim]}, so one layer's keys and values for a block are one
 * contiguous slice (which lets a sender stream a block layer by layer) and a whole block is one contiguous segment
 * (which lets it be written to a socket without copying).
 *
 * @param layers transformer layers
 * @param kvHeads key/value heads per layer
 * @param headDim elements per head
 * @param dtype element type
 * @param blockTokens token positions per block
 */
public record KvLayout(int layers, int kvHeads, int headDim, KvDtype dtype, int blockTokens) {

  public KvLayout {
    requirePositive("layers", layers);
    requirePositive("kvHeads", kvHeads);
    requirePositive("headDim", headDim);
    requirePositive("blockTokens", blockTokens);
    if (dtype == null) {
      throw new IllegalArgumentException("dtype: null (expected: F32 or F16)");
    }
  }

  private static void requirePositive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
  }

  /** Elements of one token's keys (or values) in one layer: {@code kvHeads * headDim}. */
  public int kvDim() {
    return kvHeads * headDim;
  }

  /** Bytes of keys plus values for one token across all layers. */
  public long bytesPerToken() {
    return 2L * layers * kvDim() * dtype.bytes();
  }

  /** Bytes of one layer's keys plus values within one block: the unit of layer-by-layer streaming. */
  public long layerSliceBytes() {
    return 2L * blockTokens * kvDim() * dtype.bytes();
  }

  /** Bytes of one whole block. */
  public long blockBytes() {
    return layerSliceBytes() * layers;
  }

  /** Byte offset of a layer's slice within a block. */
  public long layerOffset(int layer) {
    return layerSliceBytes() * layer;
  }

  /** Byte offset, within a block, of the keys ({@code value == false}) or values of one token in one layer. */
  public long offset(int layer, boolean value, int tokenInBlock) {
    return layerOffset(layer) + ((value ? blockTokens : 0) + (long) tokenInBlock) * kvDim() * dtype.bytes();
  }

  /** Blocks needed to hold {@code tokens} positions. */
  public int blocksFor(int tokens) {
    if (tokens < 0) {
      throw new IllegalArgumentException("tokens: " + tokens + " (expected: >= 0)");
    }
    return (int) ((tokens + (long) blockTokens - 1) / blockTokens);
  }

  /** Compact, stable text form used inside fingerprints, e.g. {@code L5.H4.D8.F32.B16}. */
  public String describe() {
    return "L" + layers + ".H" + kvHeads + ".D" + headDim + "." + dtype + ".B" + blockTokens;
  }
}
