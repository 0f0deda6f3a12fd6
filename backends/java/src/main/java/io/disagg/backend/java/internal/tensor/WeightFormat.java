package io.disagg.backend.java.internal.tensor;

/** The weight encodings this engine computes with directly from the mapped file, with their ggml block geometry. */
public enum WeightFormat {
  F32(1, 4),
  F16(1, 2),
  BF16(1, 2),
  Q8_0(32, 34),
  Q4_0(32, 18),
  Q4_K(256, 144),
  Q5_K(256, 176),
  Q6_K(256, 210);

  /** Elements per block of the block-quantised formats. */
  public static final int QK = 32;

  private final int blockElements;
  private final int blockBytes;

  WeightFormat(int blockElements, int blockBytes) {
    this.blockElements = blockElements;
    this.blockBytes = blockBytes;
  }

  public int blockElements() {
    return blockElements;
  }

  public int blockBytes() {
    return blockBytes;
  }

  /** Bytes of one row of {@code cols} elements; {@code cols} must be a whole number of blocks. */
  public long rowBytes(int cols) {
    if (cols % blockElements != 0) {
      throw new IllegalArgumentException(
          "cols: " + cols + " (expected: a multiple of " + blockElements + " for " + this + ")");
    }
    return (long) cols / blockElements * blockBytes;
  }
}
