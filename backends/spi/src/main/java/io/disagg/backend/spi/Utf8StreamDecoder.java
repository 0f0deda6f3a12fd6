package io.disagg.backend.spi;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Turns a stream of tokens into text deltas, holding back the bytes of a UTF-8 character split across tokens until it
 * is complete. Not thread-safe: one per stream.
 */
public final class Utf8StreamDecoder {
  private static final int MAX_PENDING = 8;

  private final Tokenizer tokenizer;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPLACE)
      .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private int previous;

  public Utf8StreamDecoder(Tokenizer tokenizer) {
    this(tokenizer, -1);
  }

  /** Starts after {@code previousToken} (e.g. the prompt's last token), which affects leading-space handling. */
  public Utf8StreamDecoder(Tokenizer tokenizer, int previousToken) {
    this.tokenizer = tokenizer;
    this.previous = previousToken;
  }

  /** Adds a token and returns the text that became complete (possibly empty). */
  public String append(int tokenId) {
    byte[] bytes = tokenizer.tokenBytes(previous, tokenId);
    previous = tokenId;
    pending.writeBytes(bytes);
    return drain(false);
  }

  /** Returns whatever is held back, with incomplete characters replaced by U+FFFD. */
  public String flush() {
    return drain(true);
  }

  private String drain(boolean endOfInput) {
    byte[] bytes = pending.toByteArray();
    if (bytes.length == 0) {
      return "";
    }
    int complete = endOfInput ? bytes.length : completePrefixLength(bytes);
    if (complete == 0 && bytes.length < MAX_PENDING) {
      return "";
    }
    if (complete == 0) {
      complete = bytes.length; // never hold more than one character's worth: emit replacement characters
    }
    decoder.reset();
    CharBuffer out = CharBuffer.allocate(complete * 2 + 2);
    CoderResult result = decoder.decode(ByteBuffer.wrap(bytes, 0, complete), out, true);
    if (result.isError()) {
      try {
        result.throwException();
      } catch (CharacterCodingException e) {
        throw new IllegalStateException("UTF-8 decoding failed", e);
      }
    }
    decoder.flush(out);
    pending.reset();
    pending.write(bytes, complete, bytes.length - complete);
    return out.flip().toString();
  }

  /** Length of the longest prefix that does not end inside a UTF-8 sequence which may still be completed. */
  private static int completePrefixLength(byte[] bytes) {
    int n = bytes.length;
    int i = n - 1;
    int continuation = 0;
    while (i >= 0 && continuation < 3 && (bytes[i] & 0xC0) == 0x80) {
      i--;
      continuation++;
    }
    if (i < 0) {
      return n;
    }
    int lead = bytes[i] & 0xFF;
    int needed;
    if (lead >= 0xF0 && lead <= 0xF4) {
      needed = 3;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      needed = 2;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      needed = 1;
    } else {
      return n;
    }
    return continuation < needed ? i : n;
  }
}
