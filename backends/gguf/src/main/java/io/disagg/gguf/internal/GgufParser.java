package io.disagg.gguf.internal;

import io.disagg.gguf.GgmlType;
import io.disagg.gguf.GgufArray;
import io.disagg.gguf.GgufException;
import io.disagg.gguf.GgufValueType;
import io.disagg.gguf.TensorInfo;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Parses and validates a GGUF header held in a memory segment (normally the read-only mapping of the whole file).
 * Every read is bounds-checked against the segment, and every count or length is checked against the bytes left
 * before anything is allocated for it, so a corrupt header fails with a {@link GgufException} instead of an
 * {@code IndexOutOfBoundsException} or an {@code OutOfMemoryError}.
 */
public final class GgufParser {
  /** GGUF magic "GGUF" read as a little-endian uint32. */
  public static final int MAGIC = 0x46554747;
  public static final int DEFAULT_ALIGNMENT = 32;
  /** Same as ggml's GGML_MAX_DIMS. */
  public static final int MAX_DIMS = 4;
  /** Caps that no real model comes near; they keep a corrupt count from allocating gigabytes. */
  static final int MAX_ARRAY_ELEMENTS = 1 << 26;
  static final int MAX_STRING_BYTES = 1 << 26;
  static final int MAX_NESTING = 8;

  private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

  /** What the header says. {@code metadata} and {@code types} share key order; both are unmodifiable. */
  public record Header(int version, int alignment, long dataOffset, Map<String, Object> metadata,
                       Map<String, GgufValueType> types, List<TensorInfo> tensors) { }

  private final String file;
  private final MemorySegment segment;
  private final long size;
  private long position;

  private GgufParser(String file, MemorySegment segment) {
    this.file = file;
    this.segment = segment;
    this.size = segment.byteSize();
  }

  /**
   * Parses the header of {@code segment}, which holds the whole file named {@code file} (used in messages).
   *
   * @throws GgufException if the header is not valid GGUF v2 or v3, or the tensor data does not fit in the file
   */
  public static Header parse(String file, MemorySegment segment) {
    return new GgufParser(file, segment).parse();
  }

  private Header parse() {
    if (size < 4) {
      throw fail("truncated: %d bytes, too short for the GGUF magic".formatted(size));
    }
    int magic = readU32("magic");
    if (magic != MAGIC) {
      throw fail("not a GGUF file: magic 0x%08x (expected 0x%08x, \"GGUF\")".formatted(magic, MAGIC));
    }
    int version = readU32("version");
    if (version != 2 && version != 3) {
      String hint = Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3
          ? " (this looks like a big-endian file, which is not supported)" : "";
      throw fail("GGUF version %s is not supported (supported: 2, 3)%s"
          .formatted(Integer.toUnsignedString(version), hint));
    }
    long tensorCount = readU64("tensor count");
    long kvCount = readU64("metadata count");
    // Smallest tensor info: empty name (8) + n_dims (4) + one dim (8) + type (4) + offset (8).
    checkCount("tensor count", tensorCount, 32);
    // Smallest key-value: empty key (8) + type (4) + one byte.
    checkCount("metadata count", kvCount, 13);

    Map<String, Object> metadata = new LinkedHashMap<>();
    Map<String, GgufValueType> types = new LinkedHashMap<>();
    for (long i = 0; i < kvCount; i++) {
      long keyAt = position;
      String key = readString("metadata key #" + i);
      GgufValueType type = readValueType("metadata " + key);
      Object value = readValue(type, key, 0);
      if (metadata.putIfAbsent(key, value) != null) {
        throw fail("duplicate metadata key %s at byte %d".formatted(key, keyAt));
      }
      types.put(key, type);
    }

    int alignment = DEFAULT_ALIGNMENT;
    if (metadata.containsKey("general.alignment")) {
      Object value = metadata.get("general.alignment");
      if (types.get("general.alignment") != GgufValueType.UINT32) {
        throw fail("general.alignment has type %s (expected: UINT32)".formatted(types.get("general.alignment")));
      }
      long a = (Long) value;
      if (a <= 0 || Long.bitCount(a) != 1 || a > (1 << 30)) {
        throw fail("general.alignment: %d (expected: a power of two)".formatted(a));
      }
      alignment = (int) a;
    }

    List<TensorInfo> tensors = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (long i = 0; i < tensorCount; i++) {
      String name = readString("tensor name #" + i);
      if (!names.add(name)) {
        throw fail("duplicate tensor name " + name);
      }
      int dims = readU32("dimension count of tensor " + name);
      if (dims < 1 || dims > MAX_DIMS) {
        throw fail("tensor %s has %s dimensions (expected: 1 to %d)"
            .formatted(name, Integer.toUnsignedString(dims), MAX_DIMS));
      }
      long[] shape = new long[dims];
      long elements = 1;
      for (int d = 0; d < dims; d++) {
        shape[d] = readU64("dimension of tensor " + name);
        if (shape[d] < 0) {
          throw fail("tensor %s has dimension %s (expected: < 2^63)"
              .formatted(name, Long.toUnsignedString(shape[d])));
        }
        try {
          elements = Math.multiplyExact(elements, shape[d]);
        } catch (ArithmeticException e) {
          throw fail("tensor %s shape %s overflows the element count".formatted(name, Arrays.toString(shape)));
        }
      }
      int typeId = readU32("type of tensor " + name);
      GgmlType type;
      try {
        type = GgmlType.fromId(typeId);
      } catch (GgufException e) {
        throw fail("tensor %s has %s".formatted(name, e.getMessage()));
      }
      if (shape[0] % type.blockSize() != 0) {
        throw fail("tensor %s has rows of %d elements, not a multiple of %s's block size %d"
            .formatted(name, shape[0], type, type.blockSize()));
      }
      long byteSize;
      try {
        byteSize = type.bytesFor(elements);
      } catch (ArithmeticException e) {
        throw fail("tensor %s of %d %s elements overflows its byte size".formatted(name, elements, type));
      }
      long offset = readU64("offset of tensor " + name);
      if (offset < 0 || offset % alignment != 0) {
        throw fail("tensor %s has offset %s (expected: a multiple of the alignment %d)"
            .formatted(name, Long.toUnsignedString(offset), alignment));
      }
      tensors.add(new TensorInfo(name, type, shape, offset, byteSize));
    }

    long dataOffset = alignUp(position, alignment);
    for (TensorInfo t : tensors) {
      long end = dataOffset + t.offset() + t.byteSize();
      if (t.offset() > size || t.byteSize() > size || end > size || end < 0) {
        throw fail("truncated: tensor %s needs bytes up to %s of the file, which has %d"
            .formatted(t.name(), end < 0 ? "beyond 2^63" : Long.toString(end), size));
      }
    }
    return new Header(version, alignment, dataOffset, Collections.unmodifiableMap(metadata),
        Collections.unmodifiableMap(types), List.copyOf(tensors));
  }

  static long alignUp(long value, long alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }

  private void checkCount(String what, long count, long minBytesEach) {
    long left = size - position;
    if (count < 0 || count > left / minBytesEach) {
      throw fail("truncated or corrupt: %s %s is impossible, only %d bytes follow"
          .formatted(what, Long.toUnsignedString(count), left));
    }
  }

  private GgufValueType readValueType(String what) {
    int id = readU32("value type of " + what);
    if (id < 0 || id >= GgufValueType.values().length) {
      throw fail("%s has unknown value type %s".formatted(what, Integer.toUnsignedString(id)));
    }
    return GgufValueType.fromId(id);
  }

  private Object readValue(GgufValueType type, String key, int depth) {
    return switch (type) {
      case UINT8 -> Byte.toUnsignedInt(readByte(key));
      case INT8 -> (int) readByte(key);
      case UINT16 -> Short.toUnsignedInt(readU16(key));
      case INT16 -> (int) readU16(key);
      case UINT32 -> Integer.toUnsignedLong(readU32(key));
      case INT32 -> readU32(key);
      case FLOAT32 -> Float.intBitsToFloat(readU32(key));
      case BOOL -> readBool(key);
      case STRING -> readString(key);
      case UINT64, INT64 -> readU64(key);
      case FLOAT64 -> Double.longBitsToDouble(readU64(key));
      case ARRAY -> readArray(key, depth);
    };
  }

  private GgufArray readArray(String key, int depth) {
    if (depth >= MAX_NESTING) {
      throw fail("metadata %s nests arrays deeper than %d".formatted(key, MAX_NESTING));
    }
    GgufValueType elementType = readValueType("elements of metadata " + key);
    long count = readU64("element count of metadata " + key);
    long left = size - position;
    if (count < 0 || count > left / elementType.minBytes()) {
      throw fail("truncated or corrupt: metadata %s claims %s %s elements but only %d bytes follow"
          .formatted(key, Long.toUnsignedString(count), elementType, left));
    }
    if (count > MAX_ARRAY_ELEMENTS) {
      throw fail("metadata %s has %d elements (limit: %d)".formatted(key, count, MAX_ARRAY_ELEMENTS));
    }
    int n = (int) count;
    Object values = switch (elementType) {
      case UINT8, INT8, UINT16, INT16, INT32 -> {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
          a[i] = (Integer) readValue(elementType, key, depth);
        }
        yield a;
      }
      case UINT32, INT64, UINT64 -> {
        long[] a = new long[n];
        for (int i = 0; i < n; i++) {
          a[i] = (Long) readValue(elementType, key, depth);
        }
        yield a;
      }
      case FLOAT32 -> {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
          a[i] = Float.intBitsToFloat(readU32(key));
        }
        yield a;
      }
      case FLOAT64 -> {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) {
          a[i] = Double.longBitsToDouble(readU64(key));
        }
        yield a;
      }
      case BOOL -> {
        boolean[] a = new boolean[n];
        for (int i = 0; i < n; i++) {
          a[i] = readBool(key);
        }
        yield a;
      }
      case STRING -> {
        String[] a = new String[n];
        for (int i = 0; i < n; i++) {
          a[i] = readString(key);
        }
        yield a;
      }
      case ARRAY -> {
        GgufArray[] a = new GgufArray[n];
        for (int i = 0; i < n; i++) {
          a[i] = readArray(key, depth + 1);
        }
        yield a;
      }
    };
    return new GgufArray(elementType, values);
  }

  private boolean readBool(String what) {
    byte b = readByte(what);
    if (b != 0 && b != 1) {
      throw fail("%s: boolean byte %d at %d (expected: 0 or 1)".formatted(what, b, position - 1));
    }
    return b == 1;
  }

  private String readString(String what) {
    long length = readU64("length of " + what);
    long left = size - position;
    if (length < 0 || length > left) {
      throw fail("truncated or corrupt: %s has length %s but only %d bytes follow"
          .formatted(what, Long.toUnsignedString(length), left));
    }
    if (length > MAX_STRING_BYTES) {
      throw fail("%s has length %d (limit: %d)".formatted(what, length, MAX_STRING_BYTES));
    }
    byte[] bytes = segment.asSlice(position, length).toArray(ValueLayout.JAVA_BYTE);
    position += length;
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private byte readByte(String what) {
    require(1, what);
    return segment.get(ValueLayout.JAVA_BYTE, position++);
  }

  private short readU16(String what) {
    require(2, what);
    short v = segment.get(U16, position);
    position += 2;
    return v;
  }

  private int readU32(String what) {
    require(4, what);
    int v = segment.get(U32, position);
    position += 4;
    return v;
  }

  private long readU64(String what) {
    require(8, what);
    long v = segment.get(U64, position);
    position += 8;
    return v;
  }

  private void require(long bytes, String what) {
    if (size - position < bytes) {
      throw fail("truncated: %s needs %d bytes at offset %d but the file has %d".formatted(what, bytes, position, size));
    }
  }

  private GgufException fail(String problem) {
    return new GgufException(file + ": " + problem);
  }
}
