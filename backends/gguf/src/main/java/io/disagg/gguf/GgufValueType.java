package io.disagg.gguf;

/** The metadata value types of GGUF, in id order ({@link #id()} is the number stored in the file). */
public enum GgufValueType {
  UINT8(1),
  INT8(1),
  UINT16(2),
  INT16(2),
  UINT32(4),
  INT32(4),
  FLOAT32(4),
  BOOL(1),
  STRING(8),
  ARRAY(12),
  UINT64(8),
  INT64(8),
  FLOAT64(8);

  private static final GgufValueType[] VALUES = values();

  private final int minBytes;

  GgufValueType(int minBytes) {
    this.minBytes = minBytes;
  }

  /** The id stored in the file. */
  public int id() {
    return ordinal();
  }

  /** The fewest bytes one value of this type can take in a file (a string is at least its 8-byte length). */
  public int minBytes() {
    return minBytes;
  }

  /** Whether values of this type are integers (read back as {@code Integer} or {@code Long}). */
  public boolean isInteger() {
    return switch (this) {
      case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
      default -> false;
    };
  }

  /**
   * The type with this id.
   *
   * @throws GgufException for an unknown id
   */
  public static GgufValueType fromId(int id) {
    if (id < 0 || id >= VALUES.length) {
      throw new GgufException("unknown GGUF metadata value type " + Integer.toUnsignedString(id));
    }
    return VALUES[id];
  }
}
