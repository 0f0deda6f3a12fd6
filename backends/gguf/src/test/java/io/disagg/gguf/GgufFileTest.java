package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufFileTest {
  @TempDir
  Path tmp;

  @Test
  void open_stories260K_readsHeaderAsDocumented() {
    try (GgufFile file = GgufFile.open(SharedModels.stories260K())) {
      assertThat(file.version()).isEqualTo(3);
      assertThat(file.alignment()).isEqualTo(32);
      assertThat(file.dataOffset()).isEqualTo(14_176);
      assertThat(file.tensors()).hasSize(48);
      assertThat(file.getString("general.architecture")).isEqualTo("llama");
      assertThat(file.getString("general.name")).isEqualTo("llama");
      assertThat(file.getInt("llama.context_length")).isEqualTo(2048);
      assertThat(file.getInt("llama.embedding_length")).isEqualTo(64);
      assertThat(file.getInt("llama.feed_forward_length")).isEqualTo(172);
      assertThat(file.getInt("llama.block_count")).isEqualTo(5);
      assertThat(file.getInt("llama.attention.head_count")).isEqualTo(8);
      assertThat(file.getInt("llama.attention.head_count_kv")).isEqualTo(4);
      assertThat(file.getInt("llama.rope.dimension_count")).isEqualTo(8);
      assertThat(file.findDouble("llama.rope.freq_base")).isEmpty();
      assertThat(file.getFloat("llama.attention.layer_norm_rms_epsilon")).isEqualTo(1e-5f);
      assertThat(file.metadataType("llama.attention.layer_norm_rms_epsilon")).contains(GgufValueType.FLOAT32);
      assertThat(file.getString("tokenizer.ggml.model")).isEqualTo("llama");
      assertThat(file.findStringArray("tokenizer.ggml.tokens").orElseThrow()).hasSize(512);
      assertThat(file.findFloatArray("tokenizer.ggml.scores").orElseThrow()).hasSize(512);
      assertThat(file.findIntArray("tokenizer.ggml.token_type").orElseThrow()).hasSize(512);
      assertThat(file.getInt("tokenizer.ggml.bos_token_id")).isEqualTo(1);
      assertThat(file.getInt("tokenizer.ggml.eos_token_id")).isEqualTo(2);
      assertThat(file.getInt("tokenizer.ggml.unknown_token_id")).isZero();
      assertThat(file.getLong("tokenizer.ggml.padding_token_id")).isEqualTo(4294967295L);
      assertThatThrownBy(() -> file.getInt("tokenizer.ggml.padding_token_id"))
          .isInstanceOf(GgufException.class).hasMessageContaining("does not fit in an int");
      assertThat(file.sha256()).isEqualTo("270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d");
      assertThat(file.tensors()).allSatisfy(t -> assertThat(t.type()).isEqualTo(GgmlType.F32));
    }
  }

  @Test
  void open_stories260K_tensorShapesFollowGgufOrder() {
    try (GgufFile file = GgufFile.open(SharedModels.stories260K())) {
      TensorInfo embd = file.tensor("token_embd.weight");
      assertThat(embd.shape()).containsExactly(64, 512);
      assertThat(embd.rowLength()).isEqualTo(64);
      assertThat(embd.rows()).isEqualTo(512);
      assertThat(embd.byteSize()).isEqualTo(64 * 512 * 4);
      assertThat(file.tensor("blk.0.attn_k.weight").shape()).containsExactly(64, 32);
      assertThat(file.tensor("blk.4.ffn_down.weight").shape()).containsExactly(172, 64);
      assertThat(file.tensor("blk.0.attn_norm.weight").shape()).containsExactly(64);
      assertThatThrownBy(() -> file.tensor("blk.9.attn_q.weight"))
          .isInstanceOf(GgufException.class)
          .hasMessage("missing tensor blk.9.attn_q.weight in " + file.path());
      assertThatThrownBy(() -> file.getString("no.such.key"))
          .isInstanceOf(GgufException.class).hasMessageContaining("missing metadata key no.such.key");
      assertThatThrownBy(() -> file.getString("llama.block_count"))
          .isInstanceOf(GgufException.class).hasMessageContaining("UINT32");
    }
  }

  @Test
  void tensorData_stories260K_matchesBytesReadIndependently() throws IOException {
    Path path = SharedModels.stories260K();
    byte[] whole = Files.readAllBytes(path);
    try (GgufFile file = GgufFile.open(path)) {
      for (TensorInfo t : file.tensors()) {
        MemorySegment data = file.tensorData(t);
        assertThat(data.byteSize()).isEqualTo(t.byteSize());
        assertThat(data.isReadOnly()).isTrue();
        float[] decoded = GgmlCodec.decode(t.type(), data, t.elementCount());
        ByteBuffer raw = ByteBuffer.wrap(whole, (int) (file.dataOffset() + t.offset()), (int) t.byteSize())
            .order(ByteOrder.LITTLE_ENDIAN);
        float[] expected = new float[(int) t.elementCount()];
        raw.asFloatBuffer().get(expected);
        assertThat(decoded).as(t.name()).isEqualTo(expected);
      }
      // The file stores the output matrix separately, byte-identical to the embedding.
      assertThat(file.tensorData(file.tensor("output.weight"))
          .mismatch(file.tensorData(file.tensor("token_embd.weight")))).isEqualTo(-1);
      for (float v : GgmlCodec.decode(GgmlType.F32, file.tensorData(file.tensor("blk.0.attn_norm.weight")), 64)) {
        assertThat(Float.isFinite(v)).isTrue();
      }
    }
  }

  @Test
  void tensorData_afterClose_isUnusable() {
    GgufFile file = GgufFile.open(SharedModels.stories260K());
    MemorySegment data = file.tensorData(file.tensor("output_norm.weight"));
    file.close();
    file.close();
    assertThatThrownBy(() -> data.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0))
        .isInstanceOf(IllegalStateException.class);
  }

  @Test
  void open_ggufV1_isRefusedNamingTheVersion() {
    Path v1 = SharedModels.stories260KV1();
    assertThatThrownBy(() -> GgufFile.open(v1))
        .isInstanceOf(GgufException.class)
        .hasMessageContaining(v1.toString())
        .hasMessageContaining("GGUF version 1 is not supported (supported: 2, 3)");
  }

  @Test
  void open_unknownVersion_isRefused() throws IOException {
    byte[] bytes = Files.readAllBytes(SharedModels.stories260K());
    ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 7);
    assertThatThrownBy(() -> GgufFile.open(write("v7.gguf", bytes)))
        .isInstanceOf(GgufException.class)
        .hasMessageContaining("GGUF version 7 is not supported (supported: 2, 3)");
    ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN).putInt(4, 3);
    assertThatThrownBy(() -> GgufFile.open(write("be.gguf", bytes)))
        .isInstanceOf(GgufException.class)
        .hasMessageContaining("big-endian");
  }

  @Test
  void open_corruptMagic_isRefused() throws IOException {
    byte[] bytes = Files.readAllBytes(SharedModels.stories260K());
    bytes[0] = 'X';
    assertThatThrownBy(() -> GgufFile.open(write("magic.gguf", bytes)))
        .isInstanceOf(GgufException.class)
        .hasMessageContaining("not a GGUF file");
  }

  @Test
  void open_absurdCounts_areRefusedWithoutAllocating() throws IOException {
    byte[] original = Files.readAllBytes(SharedModels.stories260K());
    byte[] tensors = original.clone();
    ByteBuffer.wrap(tensors).order(ByteOrder.LITTLE_ENDIAN).putLong(8, Long.MAX_VALUE / 2);
    assertThatThrownBy(() -> GgufFile.open(write("tensors.gguf", tensors)))
        .isInstanceOf(GgufException.class).hasMessageContaining("tensor count");
    byte[] kvs = original.clone();
    ByteBuffer.wrap(kvs).order(ByteOrder.LITTLE_ENDIAN).putLong(16, -1L);
    assertThatThrownBy(() -> GgufFile.open(write("kvs.gguf", kvs)))
        .isInstanceOf(GgufException.class).hasMessageContaining("metadata count 18446744073709551615");
    // The first key's length: claim 2^40 bytes.
    byte[] key = original.clone();
    ByteBuffer.wrap(key).order(ByteOrder.LITTLE_ENDIAN).putLong(24, 1L << 40);
    assertThatThrownBy(() -> GgufFile.open(write("key.gguf", key)))
        .isInstanceOf(GgufException.class).hasMessageContaining("length 1099511627776");
  }

  @Test
  void open_truncatedAnywhere_failsWithGgufException() throws IOException {
    byte[] bytes = Files.readAllBytes(SharedModels.stories260K());
    SplittableRandom random = new SplittableRandom(42);
    int[] cuts = new int[160];
    for (int i = 0; i < cuts.length; i++) {
      // Mostly inside the header, where parsing decisions are made, some in the tensor data.
      cuts[i] = i < 120 ? random.nextInt(14_200) : random.nextInt(bytes.length);
    }
    cuts[0] = 0;
    cuts[1] = 3;
    cuts[2] = bytes.length - 1;
    Path path = tmp.resolve("cut.gguf");
    for (int cut : cuts) {
      Files.write(path, Arrays.copyOf(bytes, cut));
      assertThatThrownBy(() -> GgufFile.open(path).close())
          .as("cut at %d", cut)
          .isInstanceOf(GgufException.class)
          .hasMessageContaining("truncated");
    }
  }

  @Test
  void open_randomHeaderCorruption_failsOnlyWithGgufException() throws IOException {
    byte[] original = Files.readAllBytes(SharedModels.stories260K());
    SplittableRandom random = new SplittableRandom(7);
    Path path = tmp.resolve("flipped.gguf");
    int opened = 0;
    for (int i = 0; i < 200; i++) {
      byte[] bytes = original.clone();
      int flips = 1 + random.nextInt(4);
      for (int f = 0; f < flips; f++) {
        int at = random.nextInt(14_176);
        bytes[at] = (byte) (random.nextBoolean() ? random.nextInt(256) : bytes[at] ^ (1 << random.nextInt(8)));
      }
      Files.write(path, bytes);
      try (GgufFile file = GgufFile.open(path)) {
        opened++;
        for (TensorInfo t : file.tensors()) {
          assertThat(file.tensorData(t).byteSize()).isEqualTo(t.byteSize());
        }
      } catch (GgufException expected) {
        assertThat(expected.getMessage()).startsWith(path.toString());
      }
    }
    // Most flips land in strings (names, vocabulary) and leave a valid file; the rest must be refused cleanly.
    assertThat(opened).isBetween(1, 199);
  }

  @Test
  void open_missingFile_namesIt() {
    Path missing = tmp.resolve("missing.gguf");
    assertThatThrownBy(() -> GgufFile.open(missing))
        .isInstanceOf(GgufException.class).hasMessageContaining(missing.toString());
  }

  private Path write(String name, byte[] bytes) throws IOException {
    Path path = tmp.resolve(name);
    Files.write(path, bytes);
    return path;
  }
}
