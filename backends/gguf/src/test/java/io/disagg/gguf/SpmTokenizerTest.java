package io.disagg.gguf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.backend.spi.Utf8StreamDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class SpmTokenizerTest {
  private static GgufFile file;
  private static Tokenizer tokenizer;

  @BeforeAll
  static void open() {
    file = GgufFile.open(SharedModels.stories260K());
    tokenizer = GgufTokenizers.fromGguf(file);
  }

  @AfterAll
  static void close() {
    if (file != null) {
      file.close();
    }
  }

  @Test
  void decode_expectedGreedyIds_reproducesTheDocumentedText() throws IOException {
    Expected expected = expected();
    assertThat(expected.ids).hasSize(256);
    assertThat(tokenizer.decode(expected.ids)).isEqualTo(expected.text);
  }

  @Test
  void streamDecoder_expectedGreedyIdsOneAtATime_givesTheSameText() throws IOException {
    Expected expected = expected();
    Utf8StreamDecoder decoder = new Utf8StreamDecoder(tokenizer, tokenizer.bosId());
    StringBuilder out = new StringBuilder();
    for (int id : expected.ids) {
      out.append(decoder.append(id));
    }
    assertThat(out.append(decoder.flush()).toString()).isEqualTo(expected.text);
  }

  @Test
  void vocabulary_stories260K_hasDocumentedSpecials() {
    assertThat(tokenizer.vocabSize()).isEqualTo(512);
    assertThat(tokenizer.bosId()).isEqualTo(1);
    assertThat(tokenizer.eosId()).isEqualTo(2);
    assertThat(tokenizer.addBos()).isTrue();
    assertThat(tokenizer.isSpecial(1)).isTrue();
    assertThat(tokenizer.isSpecial(403)).isFalse();
    assertThat(tokenizer.isEndOfGeneration(2)).isTrue();
    assertThat(tokenizer.isEndOfGeneration(1)).isFalse();
    assertThat(tokenizer.piece(1)).isEqualTo("<s>");
    assertThat(tokenizer.tokenBytes(-1, 1)).isEmpty();
    assertThat(tokenizer.tokenBytes(-1, 3 + 'A')).containsExactly('A');
    assertThatThrownBy(() -> tokenizer.tokenBytes(-1, 512)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void encode_greedyText_isTheModelsOwnTokenization() throws IOException {
    Expected expected = expected();
    // The model's sample is itself SentencePiece output, so re-encoding its first sentence gives back its ids.
    String first = "Once upon a time, there was a little girl named Lily.";
    int[] ids = tokenizer.encode(first);
    assertThat(tokenizer.decode(ids)).isEqualTo(first);
    assertThat(ids).containsExactly(Arrays.copyOf(expected.ids, ids.length));
    assertThat(tokenizer.encodePrompt("Once")[0]).isEqualTo(1);
  }

  @Test
  void encodeDecode_asciiAndNonAscii_roundTrip() {
    for (String text : List.of("Hello world", "  two leading spaces", "trailing space ", "tab\tand\nnewline",
        "café naïve résumé", "日本語のテキスト", "emoji 🙂👍🏽 mixed", "\u0000 nul", "")) {
      int[] ids = tokenizer.encode(text);
      assertThat(tokenizer.decode(ids)).as(text).isEqualTo(text);
    }
  }

  @Test
  void encode_nonAsciiText_usesByteFallback() {
    int[] ids = tokenizer.encode("日");
    // "▁" then the three UTF-8 bytes of 日 (E6 97 A5) as <0xNN> tokens.
    assertThat(Arrays.stream(ids).mapToObj(tokenizer::piece).toList()).endsWith("<0xE6>", "<0x97>", "<0xA5>");
  }

  @Test
  void encode_literalSpecialTokens_becomeTheirIds() {
    int[] ids = tokenizer.encode("<s>Hi</s>");
    assertThat(ids[0]).isEqualTo(1);
    assertThat(ids[ids.length - 1]).isEqualTo(2);
    assertThat(tokenizer.decode(ids)).isEqualTo("Hi");
  }

  @Test
  void streamDecoder_splitMultibyteCharacter_isHeldBackUntilComplete() {
    int[] ids = tokenizer.encode("é");
    Utf8StreamDecoder decoder = new Utf8StreamDecoder(tokenizer);
    StringBuilder out = new StringBuilder();
    for (int id : ids) {
      String delta = decoder.append(id);
      assertThat(delta).doesNotContain("\uFFFD");
      out.append(delta);
    }
    assertThat(out.append(decoder.flush()).toString()).isEqualTo("é");
  }

  private record Expected(int[] ids, String text) { }

  private static Expected expected() throws IOException {
    List<String> lines = Files.readAllLines(SharedModels.stories260KExpected());
    int[] ids = null;
    StringBuilder text = new StringBuilder();
    boolean inText = false;
    for (String line : lines) {
      if (line.startsWith("# Decoded text")) {
        inText = true;
      } else if (!line.startsWith("#") && !inText && ids == null) {
        ids = Arrays.stream(line.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
      } else if (inText) {
        if (!text.isEmpty()) {
          text.append('\n');
        }
        text.append(line);
      }
    }
    return new Expected(ids, text.toString());
  }
}
