package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufWriterTest {
  @TempDir
  Path tmp;

  @Test
  void write_everyMetadataType_readsBackEqual() {
    Map<String, Object> expected = new LinkedHashMap<>();
    GgufWriter.Builder builder = GgufWriter.builder();
    putTyped(builder, expected, "u8", GgufValueType.UINT8, 255, 255);
    putTyped(builder, expected, "i8", GgufValueType.INT8, -128, -128);
    putTyped(builder, expected, "u16", GgufValueType.UINT16, 65535, 65535);
    putTyped(builder, expected, "i16", GgufValueType.INT16, -32768, -32768);
    putTyped(builder, expected, "u32", GgufValueType.UINT32, 4294967295L, 4294967295L);
    putTyped(builder, expected, "i32", GgufValueType.INT32, Integer.MIN_VALUE, Integer.MIN_VALUE);
    putTyped(builder, expected, "f32", GgufValueType.FLOAT32, 1e-5f, 1e-5f);
    putTyped(builder, expected, "bool", GgufValueType.BOOL, true, true);
    putTyped(builder, expected, "str", GgufValueType.STRING, "héllo ▁ 世界 🙂", "héllo ▁ 世界 🙂");
    putTyped(builder, expected, "u64", GgufValueType.UINT64, -1L, -1L);
    putTyped(builder, expected, "i64", GgufValueType.INT64, Long.MIN_VALUE, Long.MIN_VALUE);
    putTyped(builder, expected, "f64", GgufValueType.FLOAT64, Math.PI, Math.PI);
    builder.put("inferred.int", 7).put("inferred.long", 1L << 40).put("inferred.float", 0.5f)
        .put("inferred.double", 0.25).put("inferred.bool", false).put("inferred.string", "");
    expected.put("inferred.int", 7);
    expected.put("inferred.long", 1L << 40);
    expected.put("inferred.float", 0.5f);
    expected.put("inferred.double", 0.25);
    expected.put("inferred.bool", false);
    expected.put("inferred.string", "");
    GgufArray[] arrays = {
        new GgufArray(GgufValueType.UINT8, new int[] {0, 255}),
        new GgufArray(GgufValueType.INT8, new int[] {-1, 127}),
        new GgufArray(GgufValueType.UINT16, new int[] {65535}),
        new GgufArray(GgufValueType.INT16, new int[] {-2}),
        new GgufArray(GgufValueType.UINT32, new long[] {4294967295L, 0}),
        new GgufArray(GgufValueType.INT32, new int[] {-3, 3}),
        new GgufArray(GgufValueType.FLOAT32, new float[] {1.5f, Float.NEGATIVE_INFINITY}),
        new GgufArray(GgufValueType.BOOL, new boolean[] {true, false}),
        new GgufArray(GgufValueType.STRING, new String[] {"a", "", "ü"}),
        new GgufArray(GgufValueType.UINT64, new long[] {-1L}),
        new GgufArray(GgufValueType.INT64, new long[] {Long.MAX_VALUE}),
        new GgufArray(GgufValueType.FLOAT64, new double[] {-0.0}),
        new GgufArray(GgufValueType.ARRAY, new GgufArray[] {
            new GgufArray(GgufValueType.STRING, new String[] {"nested"}),
            new GgufArray(GgufValueType.INT32, new int[] {})}),
    };
    for (GgufArray array : arrays) {
      String key = "array." + array.elementType();
      builder.put(key, array);
      expected.put(key, array);
    }
    builder.put("shorthand.strings", new String[] {"x", "y"}).put("shorthand.floats", new float[] {1f})
        .put("shorthand.ints", new int[] {4}).putArray("typed.u32", GgufValueType.UINT32, new long[] {9});
    expected.put("shorthand.strings", new GgufArray(GgufValueType.STRING, new String[] {"x", "y"}));
    expected.put("shorthand.floats", new GgufArray(GgufValueType.FLOAT32, new float[] {1f}));
    expected.put("shorthand.ints", new GgufArray(GgufValueType.INT32, new int[] {4}));
    expected.put("typed.u32", new GgufArray(GgufValueType.UINT32, new long[] {9}));

    Path path = builder.write(tmp.resolve("meta.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      assertThat(file.metadata()).containsExactlyEntriesOf(expected);
      assertThat(file.metadataType("u32")).contains(GgufValueType.UINT32);
      assertThat(file.findIntArray("typed.u32")).hasValueSatisfying(a -> assertThat(a).containsExactly(9));
      assertThat(file.findStringArray("shorthand.strings")).hasValueSatisfying(a -> assertThat(a).containsExactly("x", "y"));
      assertThat(file.tensors()).isEmpty();
    }
  }

  @Test
  void write_everySupportedTensorType_readsBackEqual() {
    SplittableRandom random = new SplittableRandom(3);
    GgufWriter.Builder builder = GgufWriter.builder().alignment(64).put("general.architecture", "test");
    Map<String, byte[]> written = new LinkedHashMap<>();
    for (GgmlType type : GgmlType.values()) {
      if (!type.isSupported()) {
        continue;
      }
      int rowLength = type.blockSize() > 64 ? type.blockSize() : 64;
      float[] values = new float[rowLength * 3];
      for (int i = 0; i < values.length; i++) {
        values[i] = (float) random.nextGaussian();
      }
      byte[] data = GgmlCodec.encode(type, values);
      String name = "t." + type;
      written.put(name, data);
      if (type == GgmlType.F16) {
        builder.tensor(name, type, new long[] {rowLength, 3}, () -> data);
      } else {
        builder.tensor(name, type, new long[] {rowLength, 3}, data);
      }
    }
    builder.tensor("t.odd", GgmlType.F32, new long[] {3}, GgmlCodec.encode(GgmlType.F32, new float[] {1, 2, 3}));
    written.put("t.odd", GgmlCodec.encode(GgmlType.F32, new float[] {1, 2, 3}));
    Path path = builder.write(tmp.resolve("tensors.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      assertThat(file.alignment()).isEqualTo(64);
      assertThat(file.dataOffset() % 64).isZero();
      assertThat(file.getLong("general.alignment")).isEqualTo(64);
      assertThat(file.tensors()).extracting(TensorInfo::name).containsExactlyElementsOf(written.keySet());
      for (TensorInfo t : file.tensors()) {
        assertThat(t.offset() % 64).isZero();
        byte[] actual = file.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        assertThat(actual).as(t.name()).isEqualTo(written.get(t.name()));
      }
      TensorInfo q4 = file.tensor("t.Q4_0");
      assertThat(q4.shape()).containsExactly(64, 3);
      assertThat(q4.byteSize()).isEqualTo(18 * 2 * 3);
      assertThat(GgmlCodec.decode(GgmlType.Q4_0, file.tensorData(q4), 192))
          .containsExactly(GgmlCodec.decode(GgmlType.Q4_0, MemorySegment.ofArray(written.get("t.Q4_0")), 192));
    }
  }

  @Test
  void open_knownButUnsupportedTensorType_isDescribedWithItsByteSize() {
    byte[] raw = new byte[2 * GgmlType.Q6_K.typeSize()];
    Path path = GgufWriter.builder().tensor("k", GgmlType.Q6_K, new long[] {256, 2}, raw)
        .tensor("after", GgmlType.F32, new long[] {1}, new byte[4]).write(tmp.resolve("q6k.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      TensorInfo k = file.tensor("k");
      assertThat(k.type()).isEqualTo(GgmlType.Q6_K);
      assertThat(k.byteSize()).isEqualTo(420);
      assertThat(k.rowBytes()).isEqualTo(210);
      // 420 bytes padded to the next multiple of 32.
      assertThat(file.tensor("after").offset()).isEqualTo(448);
      assertThat(file.tensorData(k).byteSize()).isEqualTo(420);
    }
  }

  @Test
  void accessors_wrongTypesAndRanges_failWithGgufException() {
    Path path = GgufWriter.builder()
        .put("big", GgufValueType.UINT64, -1L)
        .put("u32", GgufValueType.UINT32, 4_000_000_000L)
        .put("i8", GgufValueType.INT8, -5)
        .put("f64", 2.5)
        .put("s", "text")
        .putArray("u32s", GgufValueType.UINT32, new long[] {1, 4_000_000_000L})
        .putArray("u16s", GgufValueType.UINT16, new int[] {65535})
        .put("floats", new float[] {1f})
        .write(tmp.resolve("accessors.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      assertThat(file.getLong("big")).isEqualTo(-1L);
      assertThatThrownBy(() -> file.getInt("big")).isInstanceOf(GgufException.class)
          .hasMessageContaining("big = 18446744073709551615 does not fit in an int");
      assertThatThrownBy(() -> file.getInt("u32")).isInstanceOf(GgufException.class);
      assertThat(file.getInt("i8")).isEqualTo(-5);
      assertThat(file.getFloat("f64")).isEqualTo(2.5f);
      assertThat(file.findDouble("f64")).hasValue(2.5);
      assertThatThrownBy(() -> file.getFloat("s")).isInstanceOf(GgufException.class)
          .hasMessageContaining("metadata s has type STRING (expected: a float)");
      assertThatThrownBy(() -> file.getLong("s")).isInstanceOf(GgufException.class);
      assertThatThrownBy(() -> file.findIntArray("u32s")).isInstanceOf(GgufException.class)
          .hasMessageContaining("u32s[1] = 4000000000 does not fit in an int");
      assertThat(file.findIntArray("u16s")).hasValueSatisfying(a -> assertThat(a).containsExactly(65535));
      assertThatThrownBy(() -> file.findIntArray("floats")).isInstanceOf(GgufException.class);
      assertThatThrownBy(() -> file.findStringArray("floats")).isInstanceOf(GgufException.class);
      assertThat(file.findFloatArray("floats")).hasValueSatisfying(a -> assertThat(a).containsExactly(1f));
      assertThat(file.findStringArray("absent")).isEmpty();
      assertThatThrownBy(() -> file.metadata().put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
    }
    assertThatThrownBy(() -> GgufFile.open(tmp)).isInstanceOf(GgufException.class)
        .hasMessageContaining(tmp.toString());
  }

  @Test
  void write_version2_isReadable() {
    Path path = GgufWriter.builder().version(2).put("k", "v")
        .tensor("w", GgmlType.F32, new long[] {2}, new byte[8]).write(tmp.resolve("v2.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      assertThat(file.version()).isEqualTo(2);
      assertThat(file.getString("k")).isEqualTo("v");
    }
  }

  @Test
  void write_matchesStories260KByteForByte_whenCopyingIt() throws IOException {
    Path source = SharedModels.stories260K();
    GgufWriter.Builder builder = GgufWriter.builder();
    try (GgufFile file = GgufFile.open(source)) {
      for (Map.Entry<String, Object> e : file.metadata().entrySet()) {
        builder.put(e.getKey(), file.metadataType(e.getKey()).orElseThrow(), e.getValue());
      }
      for (TensorInfo t : file.tensors()) {
        builder.tensor(t.name(), t.type(), t.shape(), file.tensorData(t).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
      }
      Path copy = builder.write(tmp.resolve("copy.gguf"));
      assertThat(Files.mismatch(source, copy)).isEqualTo(-1L);
    }
  }

  @Test
  void builder_invalidInput_failsFast() {
    GgufWriter.Builder builder = GgufWriter.builder().put("a", 1);
    assertThatThrownBy(() -> builder.put("a", 2)).hasMessageContaining("key: a (expected: not already added)");
    assertThatThrownBy(() -> builder.put("b", GgufValueType.UINT8, 256)).hasMessageContaining("b:");
    assertThatThrownBy(() -> builder.put("c", new Object())).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> builder.version(1)).hasMessage("version: 1 (expected: 2 or 3)");
    assertThatThrownBy(() -> builder.alignment(24)).hasMessage("alignment: 24 (expected: a power of two)");
    assertThatThrownBy(() -> builder.tensor("w", GgmlType.Q8_0, new long[] {33}, new byte[34]))
        .hasMessageContaining("block size 32");
    assertThatThrownBy(() -> builder.tensor("w", GgmlType.F32, new long[] {4}, new byte[15]))
        .hasMessageContaining("data: 15 bytes (expected: 16");
    assertThatThrownBy(() -> builder.tensor("x".repeat(64), GgmlType.F32, new long[] {1}, new byte[4]))
        .hasMessageContaining("expected: 1 to 63 UTF-8 bytes");
    builder.tensor("w", GgmlType.F32, new long[] {4}, () -> new byte[3]);
    Path path = tmp.resolve("bad.gguf");
    assertThatThrownBy(() -> builder.write(path))
        .isInstanceOf(GgufException.class).hasMessageContaining("supplier returned 3 bytes (expected: 16)");
    assertThat(path).doesNotExist();
    assertThat(tmp.resolve("bad.gguf.tmp")).doesNotExist();
  }

  private static void putTyped(GgufWriter.Builder builder, Map<String, Object> expected, String key,
                               GgufValueType type, Object value, Object readBack) {
    builder.put(key, type, value);
    expected.put(key, readBack);
  }
}
