package io.disagg.gguf;

import io.disagg.gguf.internal.GgufParser;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * An open GGUF file (version 2 or 3): its metadata, its tensor descriptions, and its tensor data memory-mapped
 * read-only. The whole file is mapped into a {@link MemorySegment} owned by a shared {@link Arena}; tensor data is
 * never copied to the heap, and segments returned by {@link #tensorData(TensorInfo)} are valid until {@link #close()}.
 *
 * <p>Thread-safe: everything but {@link #close()} may be called from any thread. Closing while another thread reads a
 * tensor segment makes that read fail with {@link IllegalStateException}, as {@link Arena#close()} specifies.
 */
public final class GgufFile implements AutoCloseable {
  private static final long DIGEST_CHUNK = 16L << 20;

  private final Path path;
  private final Arena arena;
  private final MemorySegment mapping;
  private final GgufParser.Header header;
  private final Map<String, TensorInfo> tensorsByName;
  private volatile String sha256;

  private GgufFile(Path path, Arena arena, MemorySegment mapping, GgufParser.Header header) {
    this.path = path;
    this.arena = arena;
    this.mapping = mapping;
    this.header = header;
    Map<String, TensorInfo> byName = new LinkedHashMap<>();
    for (TensorInfo t : header.tensors()) {
      byName.put(t.name(), t);
    }
    this.tensorsByName = byName;
  }

  /**
   * Opens and validates {@code path}: magic, version (2 or 3), counts and lengths against the file size, alignment
   * ({@code general.alignment}, default 32), tensor types, shapes and offsets, and that all tensor data is inside the
   * file.
   *
   * @throws GgufException naming the file and the problem, for I/O errors too
   */
  public static GgufFile open(Path path) {
    Arena arena = Arena.ofShared();
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = channel.size();
      if (size < 24) {
        throw new GgufException("%s: truncated: %d bytes, too short for a GGUF header".formatted(path, size));
      }
      MemorySegment mapping = channel.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
      GgufParser.Header header = GgufParser.parse(path.toString(), mapping);
      return new GgufFile(path, arena, mapping, header);
    } catch (IOException e) {
      arena.close();
      throw new GgufException("%s: cannot read: %s".formatted(path, e), e);
    } catch (RuntimeException | Error e) {
      arena.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /** The GGUF version, 2 or 3. */
  public int version() {
    return header.version();
  }

  /** Tensor-data alignment in bytes ({@code general.alignment}, default 32). */
  public int alignment() {
    return header.alignment();
  }

  /** File offset where the tensor-data section starts; {@link TensorInfo#offset()} is relative to it. */
  public long dataOffset() {
    return header.dataOffset();
  }

  /**
   * All metadata in file order, unmodifiable. UINT8, INT8, UINT16, INT16 and INT32 values are {@code Integer};
   * UINT32, INT64 and UINT64 are {@code Long}; FLOAT32 {@code Float}; FLOAT64 {@code Double}; BOOL {@code Boolean};
   * STRING {@code String}; ARRAY {@link GgufArray}.
   */
  public Map<String, Object> metadata() {
    return header.metadata();
  }

  /** The stored type of a metadata value, for tools that copy metadata without changing its types. */
  public Optional<GgufValueType> metadataType(String key) {
    return Optional.ofNullable(header.types().get(key));
  }

  public Optional<String> findString(String key) {
    Object value = header.metadata().get(key);
    if (value == null) {
      return Optional.empty();
    }
    if (value instanceof String s) {
      return Optional.of(s);
    }
    throw wrongType(key, "a string");
  }

  public String getString(String key) {
    return findString(key).orElseThrow(() -> missing(key));
  }

  /** An integer value of any integer type; UINT64 values above {@link Long#MAX_VALUE} come back negative. */
  public OptionalLong findLong(String key) {
    Object value = header.metadata().get(key);
    if (value == null) {
      return OptionalLong.empty();
    }
    if (value instanceof Integer i) {
      return OptionalLong.of(i);
    }
    if (value instanceof Long l) {
      return OptionalLong.of(l);
    }
    throw wrongType(key, "an integer");
  }

  public long getLong(String key) {
    return findLong(key).orElseThrow(() -> missing(key));
  }

  /** An integer value that must fit in an {@code int}. */
  public int getInt(String key) {
    long value = getLong(key);
    if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE || isHugeUnsigned(key, value)) {
      throw new GgufException("%s: metadata %s = %s does not fit in an int".formatted(path, key,
          header.types().get(key) == GgufValueType.UINT64 ? Long.toUnsignedString(value) : Long.toString(value)));
    }
    return (int) value;
  }

  public OptionalDouble findDouble(String key) {
    Object value = header.metadata().get(key);
    if (value == null) {
      return OptionalDouble.empty();
    }
    if (value instanceof Float f) {
      return OptionalDouble.of(f);
    }
    if (value instanceof Double d) {
      return OptionalDouble.of(d);
    }
    throw wrongType(key, "a float");
  }

  public float getFloat(String key) {
    return (float) findDouble(key).orElseThrow(() -> missing(key));
  }

  /** A copy of a string array. */
  public Optional<String[]> findStringArray(String key) {
    return findArray(key, GgufValueType.STRING, "an array of strings").map(a -> (String[]) a.values());
  }

  /** A copy of a FLOAT32 array. */
  public Optional<float[]> findFloatArray(String key) {
    return findArray(key, GgufValueType.FLOAT32, "an array of FLOAT32").map(a -> (float[]) a.values());
  }

  /** An array of any integer element type, every element range-checked to fit in an {@code int}. */
  public Optional<int[]> findIntArray(String key) {
    Optional<GgufArray> found = findArray(key, null, "an array of integers");
    if (found.isEmpty()) {
      return Optional.empty();
    }
    GgufArray array = found.get();
    if (!array.elementType().isInteger()) {
      throw wrongType(key, "an array of integers");
    }
    Object values = array.values();
    if (values instanceof int[] ints) {
      return Optional.of(ints);
    }
    long[] longs = (long[]) values;
    int[] ints = new int[longs.length];
    boolean unsigned = array.elementType() == GgufValueType.UINT64;
    for (int i = 0; i < longs.length; i++) {
      long v = longs[i];
      if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE || (unsigned && v < 0)) {
        throw new GgufException("%s: metadata %s[%d] = %s does not fit in an int".formatted(path, key, i,
            unsigned ? Long.toUnsignedString(v) : Long.toString(v)));
      }
      ints[i] = (int) v;
    }
    return Optional.of(ints);
  }

  private Optional<GgufArray> findArray(String key, GgufValueType elementType, String expected) {
    Object value = header.metadata().get(key);
    if (value == null) {
      return Optional.empty();
    }
    if (value instanceof GgufArray array && (elementType == null || array.elementType() == elementType)) {
      return Optional.of(array);
    }
    throw wrongType(key, expected);
  }

  /** All tensors in file order. */
  public List<TensorInfo> tensors() {
    return header.tensors();
  }

  public Optional<TensorInfo> findTensor(String name) {
    return Optional.ofNullable(tensorsByName.get(name));
  }

  /** The named tensor; {@link GgufException} {@code "missing tensor NAME in FILE"} when absent. */
  public TensorInfo tensor(String name) {
    TensorInfo t = tensorsByName.get(name);
    if (t == null) {
      throw new GgufException("missing tensor %s in %s".formatted(name, path));
    }
    return t;
  }

  /**
   * The tensor's bytes: a read-only slice of the mapping, {@code t.byteSize()} long, little-endian, valid until
   * {@link #close()}.
   *
   * @throws GgufException if {@code t} is not one of this file's tensors
   */
  public MemorySegment tensorData(TensorInfo t) {
    TensorInfo own = tensorsByName.get(t.name());
    if (!t.equals(own)) {
      throw new GgufException("%s: tensor %s is not from this file".formatted(path, t.name()));
    }
    return mapping.asSlice(header.dataOffset() + t.offset(), t.byteSize());
  }

  /** Lower-case hex SHA-256 of the whole file, computed on first call by streaming the mapping (no heap copy). */
  public String sha256() {
    String digest = sha256;
    if (digest == null) {
      synchronized (this) {
        digest = sha256;
        if (digest == null) {
          digest = computeSha256();
          sha256 = digest;
        }
      }
    }
    return digest;
  }

  private String computeSha256() {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JVM", e);
    }
    long size = mapping.byteSize();
    for (long at = 0; at < size; at += DIGEST_CHUNK) {
      md.update(mapping.asSlice(at, Math.min(DIGEST_CHUNK, size - at)).asByteBuffer());
    }
    return HexFormat.of().formatHex(md.digest());
  }

  /** Unmaps the file. Idempotent. */
  @Override
  public void close() {
    synchronized (this) {
      if (arena.scope().isAlive()) {
        arena.close();
      }
    }
  }

  @Override
  public String toString() {
    return "GgufFile[" + path + ", v" + version() + ", " + tensors().size() + " tensors, " + metadata().size()
        + " metadata keys]";
  }

  private boolean isHugeUnsigned(String key, long value) {
    return value < 0 && header.types().get(key) == GgufValueType.UINT64;
  }

  private GgufException missing(String key) {
    return new GgufException("missing metadata key %s in %s".formatted(key, path));
  }

  private GgufException wrongType(String key, String expected) {
    return new GgufException("%s: metadata %s has type %s (expected: %s)"
        .formatted(path, key, header.types().get(key), expected));
  }
}
