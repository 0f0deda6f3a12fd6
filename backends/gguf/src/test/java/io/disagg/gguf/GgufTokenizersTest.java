package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.Tokenizer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class GgufTokenizersTest {
  @TempDir
  Path tmp;

  @Test
  void fromGguf_unsupportedModel_namesIt() {
    Path path = GgufWriter.builder().put("tokenizer.ggml.model", "bert")
        .put("tokenizer.ggml.tokens", new String[] {"a"}).write(tmp.resolve("bert.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      assertThatThrownBy(() -> GgufTokenizers.fromGguf(file))
          .isInstanceOf(GgufException.class)
          .hasMessageContaining("tokenizer.ggml.model \"bert\" is not supported");
    }
  }

  @Test
  void fromGguf_mismatchedArrays_areRefused() {
    Path path = GgufWriter.builder().put("tokenizer.ggml.model", "llama")
        .put("tokenizer.ggml.tokens", new String[] {"<unk>", "<s>", "</s>"})
        .put("tokenizer.ggml.scores", new float[] {0f}).write(tmp.resolve("scores.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      assertThatThrownBy(() -> GgufTokenizers.fromGguf(file))
          .isInstanceOf(GgufException.class)
          .hasMessageContaining("tokenizer.ggml.scores has 1 entries but tokenizer.ggml.tokens has 3");
    }
  }

  @Test
  void fromGguf_endOfTurnStoredAsNormalToken_isTreatedAsControl() {
    String[] tokens = new String[257];
    for (int b = 0; b < 256; b++) {
      tokens[b] = String.valueOf(io.disagg.gguf.internal.ByteUnicode.charOf(b));
    }
    tokens[256] = "<|im_end|>";
    Path path = GgufWriter.builder().put("tokenizer.ggml.model", "gpt2")
        .put("tokenizer.ggml.tokens", tokens)
        .put("tokenizer.ggml.token_type", new int[257])
        .put("tokenizer.ggml.merges", new String[0])
        .write(tmp.resolve("eot.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      Tokenizer tokenizer = GgufTokenizers.fromGguf(file);
      assertThat(tokenizer.encode("hi<|im_end|>")).containsExactly('h', 'i', 256);
      assertThat(tokenizer.isEndOfGeneration(256)).isTrue();
      assertThat(tokenizer.isSpecial(256)).isTrue();
      assertThat(tokenizer.decode(new int[] {'h', 256})).isEqualTo("h");
      assertThat(tokenizer.bosId()).isEqualTo(-1);
      assertThat(tokenizer.eosId()).isEqualTo(-1);
    }
  }

  @Test
  void fromGguf_llamaWithoutSpacePrefix_keepsLeadingSpaces() {
    String[] tokens = {"<unk>", "<s>", "</s>", "\u2581", "a", "\u2581a"};
    Path path = GgufWriter.builder().put("tokenizer.ggml.model", "llama")
        .put("tokenizer.ggml.tokens", tokens)
        .put("tokenizer.ggml.scores", new float[] {0, 0, 0, -1, -2, -3})
        .put("tokenizer.ggml.token_type", new int[] {2, 3, 3, 1, 1, 1})
        .put("tokenizer.ggml.add_space_prefix", false)
        .put("tokenizer.ggml.add_bos_token", false)
        .write(tmp.resolve("nospace.gguf"));
    try (GgufFile file = GgufFile.open(path)) {
      Tokenizer tokenizer = GgufTokenizers.fromGguf(file);
      assertThat(tokenizer.addBos()).isFalse();
      assertThat(tokenizer.encode("a a")).containsExactly(4, 5);
      assertThat(tokenizer.decode(new int[] {5})).isEqualTo(" a");
      // No byte tokens: characters outside the vocabulary become <unk>, rendered as U+2585 like llama.cpp.
      assertThat(tokenizer.encode("b")).containsExactly(0);
      assertThat(tokenizer.decode(new int[] {0})).isEqualTo("\u2585");
    }
  }
}
