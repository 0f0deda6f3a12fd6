package io.disagg.gguf.internal;

/**
 * GPT-2's reversible map from bytes to printable characters: bytes that are printable Latin-1 ({@code !..~},
 * {@code ¡..¬}, {@code ®..ÿ}) map to themselves, the other 68 to U+0100 onwards in byte order (so space is
 * {@code Ġ}, U+0120, and newline {@code Ċ}, U+010A).
 */
public final class ByteUnicode {
  private static final char[] BYTE_TO_CHAR = new char[256];
  private static final int[] CHAR_TO_BYTE = new int[512];

  static {
    java.util.Arrays.fill(CHAR_TO_BYTE, -1);
    int extra = 0;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char c = printable ? (char) b : (char) (256 + extra++);
      BYTE_TO_CHAR[b] = c;
      CHAR_TO_BYTE[c] = b;
    }
  }

  private ByteUnicode() {
  }

  public static char charOf(int b) {
    return BYTE_TO_CHAR[b & 0xFF];
  }

  /** The byte a mapped character stands for, or -1 if {@code c} is not one of the 256 mapped characters. */
  public static int byteOf(char c) {
    return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
  }

  /** Maps every byte of {@code bytes} to its character. */
  public static String encode(byte[] bytes) {
    char[] chars = new char[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      chars[i] = charOf(bytes[i]);
    }
    return new String(chars);
  }
}
