package io.disagg.decode.internal;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.backend.spi.Utf8StreamDecoder;
import java.util.List;

/**
 * Turns one sequence's generated tokens into text deltas, applying stop strings. Text that could be the beginning of a
 * stop string is held back until the next token shows whether the stop string completes; a matched stop string and
 * everything after it is never returned. Not thread-safe: owned by the engine thread.
 */
final class TextStreamer {
  private final Utf8StreamDecoder decoder;
  private final List<String> stops;
  private final StringBuilder held = new StringBuilder();
  private boolean stopped;

  TextStreamer(Tokenizer tokenizer, int previousToken, List<String> stops) {
    this.decoder = new Utf8StreamDecoder(tokenizer, previousToken);
    this.stops = stops.stream().filter(s -> !s.isEmpty()).toList();
  }

  /** Adds a generated token; returns the text that is now safe to send. Check {@link #stopped()} afterwards. */
  String append(int tokenId) {
    if (stopped) {
      throw new IllegalStateException("stop string already matched");
    }
    held.append(decoder.append(tokenId));
    int match = earliestStop();
    if (match >= 0) {
      stopped = true;
      String out = held.substring(0, match);
      held.setLength(0);
      return out;
    }
    int keep = longestStopPrefixSuffix();
    String out = held.substring(0, held.length() - keep);
    held.delete(0, held.length() - keep);
    return out;
  }

  /** Whether a stop string matched; generation ends with finish reason STOP. */
  boolean stopped() {
    return stopped;
  }

  /** Ends the stream for a reason other than a stop string: whatever was held back is sent after all. */
  String finish() {
    if (stopped) {
      return "";
    }
    held.append(decoder.flush());
    // a character completed by the flush can still complete a stop string
    int match = earliestStop();
    String out = match >= 0 ? held.substring(0, match) : held.toString();
    held.setLength(0);
    return out;
  }

  private int earliestStop() {
    int best = -1;
    for (String stop : stops) {
      int at = held.indexOf(stop);
      if (at >= 0 && (best < 0 || at < best)) {
        best = at;
      }
    }
    return best;
  }

  /** Length of the longest suffix of the held text that is a proper prefix of some stop string. */
  private int longestStopPrefixSuffix() {
    int best = 0;
    for (String stop : stops) {
      int max = Math.min(stop.length() - 1, held.length());
      for (int len = max; len > best; len--) {
        if (held.substring(held.length() - len).equals(stop.substring(0, len))) {
          best = len;
          break;
        }
      }
    }
    return best;
  }
}
