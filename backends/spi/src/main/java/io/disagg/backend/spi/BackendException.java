package io.disagg.backend.spi;

import java.util.Objects;

/** A backend failure with a machine-readable {@link Code}; workers map codes to gRPC statuses. */
public class BackendException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong, in terms a caller can act on. */
  public enum Code {
    /** The request itself is wrong (bad token id, empty prompt, bad sampling parameter). */
    INVALID_ARGUMENT,
    /** The prompt plus generation would exceed the model's context length. */
    CONTEXT_OVERFLOW,
    /** No free KV blocks; the caller may retry later or elsewhere. Nothing was allocated. */
    RESOURCE_EXHAUSTED,
    /** A KV cache from a different model or layout was offered for import. */
    KV_MISMATCH,
    /** The backend is draining or closed and accepts no new work. */
    UNAVAILABLE,
    /** The model file is unreadable, corrupt or unsupported. */
    MODEL_INVALID,
    /** A bug or an unexpected failure inside the backend. */
    INTERNAL
  }

  private final Code code;

  public BackendException(Code code, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
  }

  public BackendException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  public Code code() {
    return code;
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "[" + code + "]: " + getMessage();
  }
}
