package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.backend.spi.Utf8StreamDecoder;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class SyntheticModelTest {
  @TempDir
  Path tmp;

  static Stream<Arguments> variants() {
    Stream.Builder<Arguments> out = Stream.builder();
    for (String arch : List.of("llama", "qwen2")) {
      for (GgmlType type : List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0)) {
        for (boolean tied : new boolean[] {false, true}) {
          out.add(Arguments.of(arch, type, tied));
        }
      }
    }
    return out.build();
  }

  @ParameterizedTest(name = "{0} {1} tied={2}")
  @MethodSource("variants")
  void write_tinyPreset_readsBackWithAllTensorsOfTheRightShape(String arch, GgmlType type, boolean tied) {
    SyntheticModel.Builder builder = SyntheticModel.fromShapeSpec("tiny").architecture(arch).tensorType(type)
        .tiedOutput(tied).seed(11);
    Path path = builder.write(tmp.resolve("tiny.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      int perLayer = arch.equals("qwen2") ? 12 : 9;
      assertThat(file.tensors()).hasSize(1 + 4 * perLayer + 1 + (tied ? 0 : 1));
      assertThat(file.getString("general.architecture")).isEqualTo(arch);
      assertThat(file.getInt(arch + ".block_count")).isEqualTo(4);
      assertThat(file.getInt(arch + ".embedding_length")).isEqualTo(64);
      assertThat(file.getInt(arch + ".attention.head_count")).isEqualTo(4);
      assertThat(file.getInt(arch + ".attention.head_count_kv")).isEqualTo(2);
      assertThat(file.getInt(arch + ".rope.dimension_count")).isEqualTo(16);
      assertThat(file.metadataType(arch + ".block_count")).contains(GgufValueType.UINT32);
      assertThat(file.findTensor("output.weight").isPresent()).isEqualTo(!tied);
      assertThat(file.tensor("token_embd.weight").shape()).containsExactly(64, 512);
      assertThat(file.tensor("blk.3.attn_q.weight").shape()).containsExactly(64, 64);
      assertThat(file.tensor("blk.3.attn_k.weight").shape()).containsExactly(64, 32);
      assertThat(file.tensor("blk.3.attn_v.weight").shape()).containsExactly(64, 32);
      assertThat(file.tensor("blk.3.attn_output.weight").shape()).containsExactly(64, 64);
      assertThat(file.tensor("blk.0.ffn_gate.weight").shape()).containsExactly(64, 192);
      assertThat(file.tensor("blk.0.ffn_up.weight").shape()).containsExactly(64, 192);
      assertThat(file.tensor("blk.0.ffn_down.weight").shape()).containsExactly(192, 64);
      assertThat(file.tensor("blk.0.ffn_down.weight").type()).isEqualTo(type);
      assertThat(file.tensor("blk.0.ffn_norm.weight").type()).isEqualTo(GgmlType.F32);
      if (arch.equals("qwen2")) {
        assertThat(file.tensor("blk.2.attn_k.bias").shape()).containsExactly(32);
        assertThat(file.tensor("blk.2.attn_q.bias").type()).isEqualTo(GgmlType.F32);
      }
      long elements = 0;
      for (TensorInfo t : file.tensors()) {
        float[] values = GgmlCodec.decode(t.type(), file.tensorData(t), t.elementCount());
        elements += values.length;
        if (t.name().endsWith("norm.weight")) {
          assertThat(values).as(t.name()).containsOnly(1f);
        } else {
          double sumSq = 0;
          for (float v : values) {
            assertThat(Float.isFinite(v)).isTrue();
            sumSq += v * v;
          }
          double std = Math.sqrt(sumSq / values.length);
          assertThat(std).as(t.name()).isBetween(0.012, 0.03);
        }
      }
      assertThat(elements).isEqualTo(builder.parameterCount());
      Tokenizer tokenizer = GgufTokenizers.fromGguf(file);
      assertThat(tokenizer.vocabSize()).isEqualTo(512);
      assertThat(tokenizer.decode(tokenizer.encode("Once upon a time"))).isEqualTo("Once upon a time");
    }
  }

  @Test
  void write_sameSeed_isReproducibleAndOtherSeedsDiffer() {
    Path a;
    Path b;
    Path c;
    a = SyntheticModel.fromShapeSpec("tiny").seed(5).write(tmp.resolve("a.gguf"));
    b = SyntheticModel.fromShapeSpec("tiny").seed(5).write(tmp.resolve("b.gguf"));
    c = SyntheticModel.fromShapeSpec("tiny").seed(6).write(tmp.resolve("c.gguf"));
    try (GgufFile fa = GgufFile.open(a); GgufFile fb = GgufFile.open(b); GgufFile fc = GgufFile.open(c)) {
      assertThat(fa.sha256()).isEqualTo(fb.sha256());
      assertThat(fa.sha256()).isNotEqualTo(fc.sha256());
    }
  }

  @Test
  void parameterCount_presets_matchTheirNames() {
    assertThat(SyntheticModel.fromShapeSpec("tiny").parameterCount()).isBetween(150_000L, 400_000L);
    assertThat(SyntheticModel.fromShapeSpec("100m").parameterCount()).isBetween(95_000_000L, 105_000_000L);
    long custom = SyntheticModel.fromShapeSpec("layers=2,dim=64,heads=4,kv-heads=4,ffn=128,vocab=300,ctx=64")
        .parameterCount();
    // embd + output 2*64*300, per layer 4*64*64 + 3*64*128 + 2 norms, plus the final norm.
    assertThat(custom).isEqualTo(2L * 64 * 300 + 2L * (4 * 64 * 64 + 3 * 64 * 128 + 2 * 64) + 64);
  }

  @Test
  void builder_inconsistentShapes_failWithClearMessages() {
    assertThatThrownBy(() -> SyntheticModel.builder().embeddingDim(64).heads(5).parameterCount())
        .hasMessage("heads: 5 (expected: divides embeddingDim 64)");
    assertThatThrownBy(() -> SyntheticModel.builder().heads(4).kvHeads(3).parameterCount())
        .hasMessage("kvHeads: 3 (expected: divides heads 4)");
    assertThatThrownBy(() -> SyntheticModel.builder().feedForwardDim(172).tensorType(GgmlType.Q8_0).parameterCount())
        .hasMessage("feedForwardDim: 172 (expected: a multiple of Q8_0's block size 32)");
    assertThatThrownBy(() -> SyntheticModel.builder().layers(0)).hasMessage("layers: 0 (expected: > 0)");
    assertThatThrownBy(() -> SyntheticModel.builder().tensorType(GgmlType.Q2_K))
        .hasMessageContaining("tensorType: Q2_K");
    assertThatThrownBy(() -> SyntheticModel.builder().typeName("Q3_K_M"))
        .hasMessageContaining("type: Q3_K_M (expected: one of F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M)");
    assertThatThrownBy(() -> SyntheticModel.builder().tensorType(GgmlType.Q4_K).parameterCount())
        .hasMessage("embeddingDim: 64 (expected: a multiple of Q4_K's block size 256)");
    assertThatThrownBy(() -> SyntheticModel.builder().architecture("gpt3")).hasMessageContaining("gpt3");
    assertThatThrownBy(() -> SyntheticModel.fromShapeSpec("layers=2,wings=3")).hasMessageContaining("wings");
    assertThatThrownBy(() -> SyntheticModel.builder().vocabSize(100).parameterCount())
        .hasMessageContaining("vocabSize: 100");
  }

  @Test
  void gpt2Tokenizer_syntheticModel_roundTripsTextAndSpecialTokens() {
    Path path = SyntheticModel.fromShapeSpec("tiny,vocab=1000").tokenizer("gpt2").write(tmp.resolve("g.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      Tokenizer tokenizer = GgufTokenizers.fromGguf(file);
      assertThat(tokenizer.addBos()).isFalse();
      for (String text : List.of("Hello world", "  spaces  and\ttabs\n\nnewlines", "café naïve", "日本語 🙂👍🏽",
          "Numbers 12345 and 2024!", "<|im_start|>user\nHi<|im_end|>\n")) {
        int[] ids = tokenizer.encode(text);
        String expected = text.replace("<|im_start|>", "").replace("<|im_end|>", "");
        assertThat(tokenizer.decode(ids)).as(text).isEqualTo(expected);
        Utf8StreamDecoder decoder = new Utf8StreamDecoder(tokenizer);
        StringBuilder streamed = new StringBuilder();
        for (int id : ids) {
          streamed.append(decoder.append(id));
        }
        assertThat(streamed.append(decoder.flush()).toString()).isEqualTo(expected);
      }
      int imStart = tokenizer.encode("<|im_start|>")[0];
      int[] chat = tokenizer.encode("<|im_start|>user<|im_end|>");
      assertThat(chat[0]).isEqualTo(imStart);
      assertThat(tokenizer.piece(imStart)).isEqualTo("<|im_start|>");
      assertThat(tokenizer.isSpecial(imStart)).isTrue();
      int imEnd = chat[chat.length - 1];
      assertThat(tokenizer.isEndOfGeneration(imEnd)).isTrue();
      assertThat(tokenizer.isEndOfGeneration(tokenizer.eosId())).isTrue();
      assertThat(tokenizer.isEndOfGeneration(imStart)).isFalse();
      // Frequent corpus words were learned as single tokens, with GPT-2's Ġ standing for the leading space.
      int[] the = tokenizer.encode(" the");
      assertThat(the).hasSize(1);
      assertThat(tokenizer.piece(the[0])).isEqualTo("\u0120the");
    }
  }
}
