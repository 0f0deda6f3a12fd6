package io.disagg.gguf;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Writes GGUF v3 (or v2) files in the layout llama.cpp's {@code gguf} library writes: header, metadata in insertion
 * order, tensor infos, padding to the alignment, then each tensor's data padded to the alignment, in the order
 * tensors were added. Files are written to a temporary sibling and moved into place, so a reader never sees half a
 * file.
 *
 * <pre>{@code
 * GgufWriter.builder()
 *     .put("general.architecture", "llama")
 *     .put("llama.block_count", GgufValueType.UINT32, 2)
 *     .tensor("output_norm.weight", GgmlType.F32, new long[] {64}, GgmlCodec.encode(GgmlType.F32, ones))
 *     .write(path);
 * }</pre>
 */
public final class GgufWriter {
  /** llama.cpp refuses tensor names of GGML_MAX_NAME (64) bytes or more. */
  static final int MAX_TENSOR_NAME_BYTES = 63;

  private GgufWriter() {
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Collects metadata and tensors; validates each call eagerly. Not thread-safe. */
  public static final class Builder {
    private int version = 3;
    private int alignment = 32;
    private final Map<String, Entry> metadata = new LinkedHashMap<>();
    private final List<PendingTensor> tensors = new ArrayList<>();
    private final Set<String> tensorNames = new HashSet<>();

    private Builder() {
    }

    /** GGUF version to write: 3 (default) or 2, which differ only in v3's endianness guarantee. */
    public Builder version(int version) {
      if (version != 2 && version != 3) {
        throw new IllegalArgumentException("version: %s (expected: 2 or 3)".formatted(version));
      }
      this.version = version;
      return this;
    }

    /** Tensor-data alignment; written as {@code general.alignment} (UINT32) when not the default 32. */
    public Builder alignment(int alignment) {
      if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
        throw new IllegalArgumentException("alignment: %s (expected: a power of two)".formatted(alignment));
      }
      this.alignment = alignment;
      return this;
    }

    /**
     * Adds a metadata value whose GGUF type follows its Java type: {@code String} STRING, {@code Integer} INT32,
     * {@code Long} INT64, {@code Short} INT16, {@code Byte} INT8, {@code Float} FLOAT32, {@code Double} FLOAT64,
     * {@code Boolean} BOOL, {@link GgufArray} ARRAY, and the shorthands {@code String[]}, {@code int[]} (INT32),
     * {@code long[]} (INT64), {@code float[]}, {@code double[]}, {@code boolean[]} for arrays. Use
     * {@link #put(String, GgufValueType, Object)} for unsigned types.
     */
    public Builder put(String key, Object value) {
      Objects.requireNonNull(value, "value");
      return add(key, inferType(value), value);
    }

    /**
     * Adds a metadata value with an explicit type, e.g. {@code put("llama.block_count", GgufValueType.UINT32, 12)}.
     * Integer types take any {@code Number} with an integral value in the type's range (UINT64 also takes negative
     * longs, meaning values above 2^63); FLOAT32/FLOAT64 take any {@code Number}; ARRAY takes a {@link GgufArray} or
     * an array shorthand.
     */
    public Builder put(String key, GgufValueType type, Object value) {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(value, "value");
      return add(key, type, value);
    }

    /** Adds an array with an explicit element type, e.g. {@code putArray("x", GgufValueType.UINT32, new long[] {..})}. */
    public Builder putArray(String key, GgufValueType elementType, Object values) {
      return add(key, GgufValueType.ARRAY, new GgufArray(elementType, values));
    }

    /** Adds a tensor whose encoded bytes are held now; {@code data.length} must be {@code type.bytesFor(elements)}. */
    public Builder tensor(String name, GgmlType type, long[] shape, byte[] data) {
      Objects.requireNonNull(data, "data");
      PendingTensor t = pending(name, type, shape, () -> data);
      if (data.length != t.byteSize) {
        throw new IllegalArgumentException("data: %d bytes (expected: %d for %s %s %s)"
            .formatted(data.length, t.byteSize, name, type, Arrays.toString(shape)));
      }
      return addTensor(t);
    }

    /**
     * Adds a tensor whose bytes are produced only while {@link #write(Path)} writes it, so a large model is never held
     * in memory twice (only one tensor at a time). The supplier may be called once per {@code write}.
     */
    public Builder tensor(String name, GgmlType type, long[] shape, Supplier<byte[]> data) {
      Objects.requireNonNull(data, "data");
      return addTensor(pending(name, type, shape, data));
    }

    /**
     * Writes the file.
     *
     * @throws GgufException naming the file when writing fails or a supplier returns the wrong number of bytes
     */
    public Path write(Path path) {
      Objects.requireNonNull(path, "path");
      Path absolute = path.toAbsolutePath();
      Path tmp = absolute.resolveSibling(absolute.getFileName() + ".tmp");
      try {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(tmp), 1 << 16)) {
          writeTo(out, path);
        }
        Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return path;
      } catch (IOException e) {
        throw new GgufException("%s: cannot write: %s".formatted(path, e), e);
      } finally {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // Best effort: the real failure, if any, is already being thrown.
        }
      }
    }

    private void writeTo(OutputStream raw, Path path) throws IOException {
      Map<String, Entry> entries = new LinkedHashMap<>(metadata);
      if (alignment != 32 && !entries.containsKey("general.alignment")) {
        entries.put("general.alignment", new Entry(GgufValueType.UINT32, (long) alignment));
      }
      CountingOut out = new CountingOut(raw);
      out.u32(0x46554747);
      out.u32(version);
      out.u64(tensors.size());
      out.u64(entries.size());
      for (Map.Entry<String, Entry> e : entries.entrySet()) {
        out.string(e.getKey());
        out.u32(e.getValue().type().id());
        writeValue(out, e.getValue().type(), e.getValue().value());
      }
      long offset = 0;
      for (PendingTensor t : tensors) {
        out.string(t.name);
        out.u32(t.shape.length);
        for (long dim : t.shape) {
          out.u64(dim);
        }
        out.u32(t.type.id());
        out.u64(offset);
        offset = align(offset + t.byteSize, alignment);
      }
      out.pad(alignment);
      for (PendingTensor t : tensors) {
        byte[] data = t.data.get();
        if (data == null || data.length != t.byteSize) {
          throw new GgufException("%s: tensor %s: supplier returned %s bytes (expected: %d)"
              .formatted(path, t.name, data == null ? "null" : data.length, t.byteSize));
        }
        out.bytes(data);
        out.pad(alignment);
      }
    }

    private Builder add(String key, GgufValueType type, Object value) {
      if (key == null || key.isEmpty()) {
        throw new IllegalArgumentException("key: \"%s\" (expected: non-empty)".formatted(key));
      }
      if (metadata.containsKey(key)) {
        throw new IllegalArgumentException("key: %s (expected: not already added)".formatted(key));
      }
      Object normalized = normalize(key, type, value);
      if (key.equals("general.alignment")) {
        if (type != GgufValueType.UINT32 || (Long) normalized != alignment) {
          throw new IllegalArgumentException(
              "general.alignment: %s %s (expected: set it with alignment(int), UINT32)".formatted(type, value));
        }
      }
      metadata.put(key, new Entry(type, normalized));
      return this;
    }

    private PendingTensor pending(String name, GgmlType type, long[] shape, Supplier<byte[]> data) {
      Objects.requireNonNull(name, "name");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(shape, "shape");
      int nameBytes = name.getBytes(StandardCharsets.UTF_8).length;
      if (nameBytes == 0 || nameBytes > MAX_TENSOR_NAME_BYTES) {
        throw new IllegalArgumentException("name: %s (expected: 1 to %d UTF-8 bytes)"
            .formatted(name, MAX_TENSOR_NAME_BYTES));
      }
      if (tensorNames.contains(name)) {
        throw new IllegalArgumentException("name: %s (expected: not already added)".formatted(name));
      }
      if (shape.length < 1 || shape.length > 4) {
        throw new IllegalArgumentException("shape: %s (expected: 1 to 4 dimensions)".formatted(Arrays.toString(shape)));
      }
      long elements = 1;
      for (long dim : shape) {
        if (dim <= 0) {
          throw new IllegalArgumentException("shape: %s (expected: dimensions > 0)".formatted(Arrays.toString(shape)));
        }
        elements = Math.multiplyExact(elements, dim);
      }
      if (shape[0] % type.blockSize() != 0) {
        throw new IllegalArgumentException("shape: %s (expected: row length a multiple of %s's block size %d)"
            .formatted(Arrays.toString(shape), type, type.blockSize()));
      }
      return new PendingTensor(name, type, shape.clone(), type.bytesFor(elements), data);
    }

    private Builder addTensor(PendingTensor t) {
      tensorNames.add(t.name);
      tensors.add(t);
      return this;
    }
  }

  private record Entry(GgufValueType type, Object value) { }

  private record PendingTensor(String name, GgmlType type, long[] shape, long byteSize, Supplier<byte[]> data) { }

  static GgufValueType inferType(Object value) {
    return switch (value) {
      case String s -> GgufValueType.STRING;
      case Integer i -> GgufValueType.INT32;
      case Long l -> GgufValueType.INT64;
      case Short s -> GgufValueType.INT16;
      case Byte b -> GgufValueType.INT8;
      case Float f -> GgufValueType.FLOAT32;
      case Double d -> GgufValueType.FLOAT64;
      case Boolean b -> GgufValueType.BOOL;
      case GgufArray a -> GgufValueType.ARRAY;
      case String[] a -> GgufValueType.ARRAY;
      case int[] a -> GgufValueType.ARRAY;
      case long[] a -> GgufValueType.ARRAY;
      case float[] a -> GgufValueType.ARRAY;
      case double[] a -> GgufValueType.ARRAY;
      case boolean[] a -> GgufValueType.ARRAY;
      default -> throw new IllegalArgumentException(
          "value: %s (expected: a String, boxed number, Boolean, GgufArray or primitive/String array)"
              .formatted(value.getClass().getName()));
    };
  }

  private static Object normalize(String key, GgufValueType type, Object value) {
    try {
      return switch (type) {
        case UINT8 -> (int) integral(value, 0, 0xFF);
        case INT8 -> (int) integral(value, Byte.MIN_VALUE, Byte.MAX_VALUE);
        case UINT16 -> (int) integral(value, 0, 0xFFFF);
        case INT16 -> (int) integral(value, Short.MIN_VALUE, Short.MAX_VALUE);
        case INT32 -> (int) integral(value, Integer.MIN_VALUE, Integer.MAX_VALUE);
        case UINT32 -> integral(value, 0, 0xFFFF_FFFFL);
        case INT64, UINT64 -> integral(value, Long.MIN_VALUE, Long.MAX_VALUE);
        case FLOAT32 -> ((Number) value).floatValue();
        case FLOAT64 -> ((Number) value).doubleValue();
        case BOOL -> (Boolean) value;
        case STRING -> (String) value;
        case ARRAY -> switch (value) {
          case GgufArray a -> a;
          case String[] a -> new GgufArray(GgufValueType.STRING, a);
          case int[] a -> new GgufArray(GgufValueType.INT32, a);
          case long[] a -> new GgufArray(GgufValueType.INT64, a);
          case float[] a -> new GgufArray(GgufValueType.FLOAT32, a);
          case double[] a -> new GgufArray(GgufValueType.FLOAT64, a);
          case boolean[] a -> new GgufArray(GgufValueType.BOOL, a);
          default -> throw new ClassCastException(value.getClass().getName());
        };
      };
    } catch (ClassCastException | IllegalArgumentException e) {
      throw new IllegalArgumentException("%s: %s %s (expected: a value of type %s)"
          .formatted(key, value.getClass().getSimpleName(), value, type), e);
    }
  }

  private static long integral(Object value, long min, long max) {
    Number n = (Number) value;
    if (n instanceof Float || n instanceof Double) {
      double d = n.doubleValue();
      if (d != Math.rint(d)) {
        throw new IllegalArgumentException("not an integer");
      }
    }
    long v = n.longValue();
    if (v < min || v > max) {
      throw new IllegalArgumentException("out of range [%d, %d]".formatted(min, max));
    }
    return v;
  }

  private static void writeValue(CountingOut out, GgufValueType type, Object value) throws IOException {
    switch (type) {
      case UINT8, INT8 -> out.u8((Integer) value);
      case UINT16, INT16 -> out.u16((Integer) value);
      case INT32 -> out.u32((Integer) value);
      case UINT32 -> out.u32((int) (long) (Long) value);
      case INT64, UINT64 -> out.u64((Long) value);
      case FLOAT32 -> out.u32(Float.floatToRawIntBits((Float) value));
      case FLOAT64 -> out.u64(Double.doubleToRawLongBits((Double) value));
      case BOOL -> out.u8((Boolean) value ? 1 : 0);
      case STRING -> out.string((String) value);
      case ARRAY -> {
        GgufArray array = (GgufArray) value;
        GgufValueType element = array.elementType();
        out.u32(element.id());
        out.u64(array.size());
        switch (array.values()) {
          case int[] a -> {
            for (int v : a) {
              writeValue(out, element, v);
            }
          }
          case long[] a -> {
            for (long v : a) {
              out.u64Or32(element, v);
            }
          }
          case float[] a -> {
            for (float v : a) {
              out.u32(Float.floatToRawIntBits(v));
            }
          }
          case double[] a -> {
            for (double v : a) {
              out.u64(Double.doubleToRawLongBits(v));
            }
          }
          case boolean[] a -> {
            for (boolean v : a) {
              out.u8(v ? 1 : 0);
            }
          }
          case String[] a -> {
            for (String v : a) {
              out.string(v);
            }
          }
          case GgufArray[] a -> {
            for (GgufArray v : a) {
              writeValue(out, GgufValueType.ARRAY, v);
            }
          }
          default -> throw new AssertionError(array);
        }
      }
    }
  }

  static long align(long value, long alignment) {
    return (value + alignment - 1) / alignment * alignment;
  }

  /** Little-endian primitives over a stream, counting bytes for padding. */
  private static final class CountingOut {
    private final OutputStream out;
    private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    private long count;

    CountingOut(OutputStream out) {
      this.out = out;
    }

    void u8(int v) throws IOException {
      out.write(v);
      count++;
    }

    void u16(int v) throws IOException {
      scratch.clear();
      scratch.putShort((short) v);
      flushScratch();
    }

    void u32(int v) throws IOException {
      scratch.clear();
      scratch.putInt(v);
      flushScratch();
    }

    void u64(long v) throws IOException {
      scratch.clear();
      scratch.putLong(v);
      flushScratch();
    }

    void u64Or32(GgufValueType type, long v) throws IOException {
      if (type == GgufValueType.UINT32) {
        u32((int) v);
      } else {
        u64(v);
      }
    }

    void string(String s) throws IOException {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      u64(bytes.length);
      bytes(bytes);
    }

    void bytes(byte[] bytes) throws IOException {
      out.write(bytes);
      count += bytes.length;
    }

    void pad(int alignment) throws IOException {
      long target = align(count, alignment);
      while (count < target) {
        u8(0);
      }
    }

    private void flushScratch() throws IOException {
      out.write(scratch.array(), 0, scratch.position());
      count += scratch.position();
    }
  }
}
