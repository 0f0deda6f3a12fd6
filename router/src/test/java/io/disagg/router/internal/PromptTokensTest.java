package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptTokensTest {
  private static final int BOS = 300;

  /**
   * Bytes are tokens 0..255, the literal text {@code <s>} is BOS (as real tokenizers parse special tokens), and
   * token 1000 + b renders as a space then byte b, except after BOS where the space is dropped (SentencePiece's rule).
   */
  private static final class Literal implements Tokenizer {
    private final boolean addBos;

    Literal(boolean addBos) {
      this.addBos = addBos;
    }

    @Override
    public int vocabSize() {
      return 1256;
    }

    @Override
    public int bosId() {
      return BOS;
    }

    @Override
    public int eosId() {
      return 301;
    }

    @Override
    public boolean addBos() {
      return addBos;
    }

    @Override
    public int[] encode(String text) {
      List<Integer> ids = new ArrayList<>();
      String rest = text;
      while (rest.startsWith("<s>")) {
        ids.add(BOS);
        rest = rest.substring(3);
      }
      for (byte b : rest.getBytes(StandardCharsets.UTF_8)) {
        ids.add(b & 0xFF);
      }
      return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public byte[] tokenBytes(int previous, int tokenId) {
      if (tokenId >= 1000) {
        byte b = (byte) (tokenId - 1000);
        return previous == BOS || previous == -1 ? new byte[] {b} : new byte[] {' ', b};
      }
      return tokenId < 256 ? new byte[] {(byte) tokenId} : new byte[0];
    }

    @Override
    public String piece(int tokenId) {
      return tokenId == BOS ? "<s>" : tokenId >= 1000 ? "▁" + (char) (tokenId - 1000) : String.valueOf(tokenId);
    }

    @Override
    public boolean isEndOfGeneration(int tokenId) {
      return tokenId == 301;
    }

    @Override
    public boolean isSpecial(int tokenId) {
      return tokenId == BOS || tokenId == 301;
    }
  }

  @Test
  void encode_plainText_addsBos() {
    assertThat(PromptTokens.encode(new Literal(true), "hi")).containsExactly(BOS, 'h', 'i');
  }

  @Test
  void encode_textAlreadyStartingWithBos_doesNotDoubleIt() {
    assertThat(PromptTokens.encode(new Literal(true), "<s>hi")).containsExactly(BOS, 'h', 'i');
  }

  @Test
  void encode_tokenizerWithoutAddBos_leavesTextAlone() {
    assertThat(PromptTokens.encode(new Literal(false), "hi")).containsExactly('h', 'i');
  }

  @Test
  void text_rendersBytesAfterTheRealPredecessor() {
    Literal tokenizer = new Literal(true);
    assertThat(PromptTokens.text(tokenizer, 'x', 1000 + 'a')).isEqualTo(" a");
    assertThat(PromptTokens.text(tokenizer, BOS, 1000 + 'a')).isEqualTo("a");
    assertThat(PromptTokens.text(tokenizer, 'x', BOS)).isEmpty();
    assertThat(PromptTokens.text(tokenizer, 'x', 0xC3)).isEqualTo("\uFFFD");
  }

  @Test
  void piece_missingToken_isEmpty() {
    assertThat(PromptTokens.piece(new Literal(true), BOS)).isEqualTo("<s>");
    assertThat(PromptTokens.piece(new Literal(true), -1)).isEmpty();
  }
}
