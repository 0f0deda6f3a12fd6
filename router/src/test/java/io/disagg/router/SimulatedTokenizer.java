package io.disagg.router;

import io.disagg.backend.spi.Tokenizer;
import java.nio.charset.StandardCharsets;

/**
 * A simulated byte-level tokenizer for tests: token ids 0..255 are bytes, 256 is BOS, 257 is EOS. Lets router tests
 * run without a model file.
 */
class SimulatedTokenizer implements Tokenizer {
  static final int BOS = 256;
  static final int EOS = 257;

  @Override
  public int vocabSize() {
    return 258;
  }

  @Override
  public int bosId() {
    return BOS;
  }

  @Override
  public int eosId() {
    return EOS;
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
      ids[i] = bytes[i] & 0xFF;
    }
    return ids;
  }

  @Override
  public byte[] tokenBytes(int previous, int tokenId) {
    if (tokenId < 0 || tokenId >= vocabSize()) {
      throw new IllegalArgumentException("tokenId: " + tokenId);
    }
    return tokenId < 256 ? new byte[] {(byte) tokenId} : new byte[0];
  }

  @Override
  public String piece(int tokenId) {
    return tokenId == BOS ? "<s>" : tokenId == EOS ? "</s>" : String.valueOf((char) tokenId);
  }

  @Override
  public boolean isEndOfGeneration(int tokenId) {
    return tokenId == EOS;
  }

  @Override
  public boolean isSpecial(int tokenId) {
    return tokenId >= 256;
  }
}
