package io.disagg.gguf;

/**
 * A GGUF file could not be read, written or interpreted. The message names the file (when there is one) and the
 * problem, e.g. {@code "model.gguf: GGUF version 1 is not supported (supported: 2, 3)"}.
 */
public final class GgufException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public GgufException(String message) {
    super(message);
  }

  public GgufException(String message, Throwable cause) {
    super(message, cause);
  }
}
