package io.disagg.backend.spi;

/**
 * Turns text into token ids and back, as the model was trained. Thread-safe and immutable.
 */
public interface Tokenizer {

  int vocabSize();

  /** Beginning-of-sequence token, or -1 when the model has none. */
  int bosId();

  /** End-of-sequence token, or -1 when the model has none. */
  int eosId();

  /** Whether prompts should start with {@link #bosId()}. */
  boolean addBos();

  /** Encodes text without adding BOS. Never fails on valid Unicode; unknown characters use byte fallback or UNK. */
  int[] encode(String text);

  /** Encodes a prompt, adding BOS first when {@link #addBos()} says so. */
  default int[] encodePrompt(String text) {
    int[] body = encode(text);
    if (!addBos() || bosId() < 0) {
      return body;
    }
    int[] withBos = new int[body.length + 1];
    withBos[0] = bosId();
    System.arraycopy(body, 0, withBos, 1, body.length);
    return withBos;
  }

  /**
   * The bytes a token contributes to the output text (UTF-8, possibly a partial character). Control tokens such as
   * BOS and EOS contribute nothing. {@code previous} is the token before it ({@code -1} if none); SentencePiece
   * tokenizers drop the leading space of the first piece after BOS.
   *
   * @throws IllegalArgumentException if {@code tokenId} is outside the vocabulary
   */
  byte[] tokenBytes(int previous, int tokenId);

  /** Decodes whole text; invalid UTF-8 becomes U+FFFD. */
  default String decode(int[] tokens) {
    Utf8StreamDecoder decoder = new Utf8StreamDecoder(this);
    StringBuilder out = new StringBuilder();
    for (int token : tokens) {
      out.append(decoder.append(token));
    }
    return out.append(decoder.flush()).toString();
  }

  /** The token's piece as stored in the vocabulary (for display and logprob listings). */
  String piece(int tokenId);

  /** Whether generating this token ends the sequence (EOS, end-of-turn and similar). */
  boolean isEndOfGeneration(int tokenId);

  /** Whether the token is a control/special token that does not render as text. */
  boolean isSpecial(int tokenId);
}
