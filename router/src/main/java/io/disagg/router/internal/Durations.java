package io.disagg.router.internal;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;

/** Parses durations as operators write them: {@code 250ms}, {@code 2s}, {@code 5m}, {@code 1h}, or ISO-8601. */
public final class Durations {
  private Durations() {}

  /**
   * @throws IllegalArgumentException naming {@code key} and the accepted forms
   */
  public static Duration parse(String key, String text) {
    String s = text.strip().toLowerCase(Locale.ROOT);
    try {
      if (s.startsWith("p")) {
        return Duration.parse(s.toUpperCase(Locale.ROOT));
      }
      if (s.endsWith("ms")) {
        return Duration.ofMillis(Long.parseLong(s.substring(0, s.length() - 2).strip()));
      }
      if (s.endsWith("s")) {
        return Duration.ofSeconds(Long.parseLong(s.substring(0, s.length() - 1).strip()));
      }
      if (s.endsWith("m")) {
        return Duration.ofMinutes(Long.parseLong(s.substring(0, s.length() - 1).strip()));
      }
      if (s.endsWith("h")) {
        return Duration.ofHours(Long.parseLong(s.substring(0, s.length() - 1).strip()));
      }
    } catch (NumberFormatException | DateTimeParseException e) {
      // falls through to the message below
    }
    throw new IllegalArgumentException(
        "%s: '%s' (expected: a duration such as 250ms, 2s, 5m, 1h or PT2S)".formatted(key, text));
  }
}
