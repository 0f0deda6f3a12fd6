package io.disagg.router.internal;

import io.disagg.backend.spi.Tokenizer;
import java.nio.charset.StandardCharsets;

/**
 * The router's one place for turning text into prompt ids and token ids back into display text, so that Generate,
 * the HTTP server's prompt-length check and the token texts in forwarded chunks agree.
 */
public final class PromptTokens {
  private PromptTokens() {}

  /**
   * Encodes a text prompt, adding BOS first when the tokenizer asks for it, unless the text already starts with BOS.
   *
   * <p>The exception exists for chat templates that print {@code bos_token} themselves (Llama 2, Mistral): the HTTP
   * server renders them with the real BOS string, the tokenizer recognises it, and adding another would give the model
   * a doubled BOS it never saw in training.
   */
  public static int[] encode(Tokenizer tokenizer, String text) {
    int[] body = tokenizer.encode(text);
    int bos = tokenizer.bosId();
    if (!tokenizer.addBos() || bos < 0 || (body.length > 0 && body[0] == bos)) {
      return body;
    }
    int[] withBos = new int[body.length + 1];
    withBos[0] = bos;
    System.arraycopy(body, 0, withBos, 1, body.length);
    return withBos;
  }

  /**
   * A generated token's text as it appears in the output: the UTF-8 decoding of
   * {@link Tokenizer#tokenBytes(int, int)} after {@code previous}. Rendered bytes rather than the vocabulary piece
   * ({@code "▁the"}, {@code "Ġthe"}) because OpenAI clients concatenate token texts and compute offsets into the
   * completion text; passing the real predecessor keeps SentencePiece's leading-space rule identical to the text
   * stream. A token that is only part of a UTF-8 character renders as U+FFFD; control tokens render as "".
   *
   * @param previous the token before it (the last prompt token for the first generated one), or -1
   */
  public static String text(Tokenizer tokenizer, int previous, int tokenId) {
    if (tokenId < 0 || tokenId >= tokenizer.vocabSize()) {
      return "";
    }
    return new String(tokenizer.tokenBytes(previous, tokenId), StandardCharsets.UTF_8);
  }

  /** The vocabulary piece of a token (e.g. {@code "<s>"}), or "" when the model has no such token. */
  public static String piece(Tokenizer tokenizer, int tokenId) {
    return tokenId < 0 || tokenId >= tokenizer.vocabSize() ? "" : tokenizer.piece(tokenId);
  }
}
