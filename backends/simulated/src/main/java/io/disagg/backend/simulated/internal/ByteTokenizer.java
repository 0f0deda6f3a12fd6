package io.disagg.backend.simulated.internal;

import io.disagg.backend.spi.Tokenizer;
import java.nio.charset.StandardCharsets;

/**
 * The tokenizer of a model given only by its shape (no GGUF file, hence no vocabulary): id 0 is {@code <unk>}, 1 is
 * {@code <s>} (BOS, added to prompts), 2 is {@code </s>} (EOS), ids 3 to 258 are the 256 bytes (UTF-8 text encodes
 * one token per byte), and the remaining ids up to the shape's vocabulary size are filler words that render as
 * {@code " w<id>"}, so a generated stream is readable as a sequence of ids. Immutable, thread-safe.
 */
final class ByteTokenizer implements Tokenizer {
  static final int BYTE_BASE = 3;
  static final int MIN_VOCAB = BYTE_BASE + 256;

  private final int vocabSize;

  ByteTokenizer(int vocabSize) {
    if (vocabSize < MIN_VOCAB) {
      throw new IllegalArgumentException("vocab: " + vocabSize + " (expected: >= " + MIN_VOCAB
          + " for the byte tokenizer of a shape-only model)");
    }
    this.vocabSize = vocabSize;
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public int bosId() {
    return 1;
  }

  @Override
  public int eosId() {
    return 2;
  }

  @Override
  public boolean addBos() {
    return true;
  }

  @Override
  public int[] encode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = BYTE_BASE + (bytes[i] & 0xFF);
    }
    return ids;
  }

  private void check(int tokenId) {
    if (tokenId < 0 || tokenId >= vocabSize) {
      throw new IllegalArgumentException("token: " + tokenId + " (expected: 0.." + (vocabSize - 1) + ")");
    }
  }

  @Override
  public byte[] tokenBytes(int previous, int tokenId) {
    check(tokenId);
    if (tokenId < BYTE_BASE) {
      return new byte[0];
    }
    if (tokenId < MIN_VOCAB) {
      return new byte[] {(byte) (tokenId - BYTE_BASE)};
    }
    return (" w" + tokenId).getBytes(StandardCharsets.US_ASCII);
  }

  @Override
  public String piece(int tokenId) {
    check(tokenId);
    return switch (tokenId) {
      case 0 -> "<unk>";
      case 1 -> "<s>";
      case 2 -> "</s>";
      default -> tokenId < MIN_VOCAB ? "<0x%02X>".formatted(tokenId - BYTE_BASE) : "▁w" + tokenId;
    };
  }

  @Override
  public boolean isEndOfGeneration(int tokenId) {
    return tokenId == 2;
  }

  @Override
  public boolean isSpecial(int tokenId) {
    return tokenId >= 0 && tokenId < BYTE_BASE;
  }
}
