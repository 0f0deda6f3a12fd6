package io.disagg.gguf;

/**
 * Every tensor type id ggml defines (ggml.h {@code enum ggml_type}), with its block geometry. Ids that ggml has
 * retired (4, 5, 31 to 33, 36 to 38) are not constants: {@link #fromId(int)} refuses them like any unknown id.
 *
 * <p>Only {@link #isSupported() supported} types can be encoded and decoded by {@link GgmlCodec}; the others are
 * listed so that a file using them can still be opened and its tensors described.
 */
public enum GgmlType {
  F32(0, 1, 4, true),
  F16(1, 1, 2, true),
  Q4_0(2, 32, 18, true),
  Q4_1(3, 32, 20, false),
  Q5_0(6, 32, 22, false),
  Q5_1(7, 32, 24, false),
  Q8_0(8, 32, 34, true),
  Q8_1(9, 32, 36, false),
  Q2_K(10, 256, 84, false),
  Q3_K(11, 256, 110, false),
  Q4_K(12, 256, 144, true),
  Q5_K(13, 256, 176, true),
  Q6_K(14, 256, 210, true),
  Q8_K(15, 256, 292, false),
  IQ2_XXS(16, 256, 66, false),
  IQ2_XS(17, 256, 74, false),
  IQ3_XXS(18, 256, 98, false),
  IQ1_S(19, 256, 50, false),
  IQ4_NL(20, 32, 18, false),
  IQ3_S(21, 256, 110, false),
  IQ2_S(22, 256, 82, false),
  IQ4_XS(23, 256, 136, false),
  I8(24, 1, 1, false),
  I16(25, 1, 2, false),
  I32(26, 1, 4, false),
  I64(27, 1, 8, false),
  F64(28, 1, 8, false),
  IQ1_M(29, 256, 56, false),
  BF16(30, 1, 2, true),
  TQ1_0(34, 256, 54, false),
  TQ2_0(35, 256, 66, false),
  MXFP4(39, 32, 17, false),
  NVFP4(40, 64, 36, false),
  Q1_0(41, 128, 18, false),
  Q2_0(42, 64, 18, false);

  private static final GgmlType[] BY_ID = new GgmlType[43];

  static {
    for (GgmlType type : values()) {
      BY_ID[type.id] = type;
    }
  }

  private final int id;
  private final int blockSize;
  private final int typeSize;
  private final boolean supported;

  GgmlType(int id, int blockSize, int typeSize, boolean supported) {
    this.id = id;
    this.blockSize = blockSize;
    this.typeSize = typeSize;
    this.supported = supported;
  }

  /** The id stored in GGUF tensor infos. */
  public int id() {
    return id;
  }

  /** Elements per block: 1 for plain floats and integers, 32 for Q4_0/Q8_0, 256 for the K and most IQ quants. */
  public int blockSize() {
    return blockSize;
  }

  /** Bytes per block. */
  public int typeSize() {
    return typeSize;
  }

  /** Whether {@link GgmlCodec} (and the Java engine) can read and write this type: F32, F16, BF16, Q8_0,
   * Q4_0, Q4_K, Q5_K, Q6_K. */
  public boolean isSupported() {
    return supported;
  }

  /**
   * Bytes that {@code elements} values of this type occupy.
   *
   * @throws IllegalArgumentException if {@code elements} is negative or not a multiple of {@link #blockSize()}
   * @throws ArithmeticException if the size overflows a {@code long}
   */
  public long bytesFor(long elements) {
    if (elements < 0 || elements % blockSize != 0) {
      throw new IllegalArgumentException(
          "elements: %s (expected: >= 0 and a multiple of %s's block size %s)".formatted(elements, this, blockSize));
    }
    return Math.multiplyExact(elements / blockSize, (long) typeSize);
  }

  /**
   * The type with this ggml id.
   *
   * @throws GgufException for ids ggml never defined or has retired
   */
  public static GgmlType fromId(int id) {
    GgmlType type = id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    if (type == null) {
      throw new GgufException("unknown ggml tensor type id " + Integer.toUnsignedString(id));
    }
    return type;
  }
}
