package io.disagg.openai.internal;

/** Carries an {@link ApiError} out of parsing and validation; never escapes the HTTP handler. */
public final class ApiException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient ApiError error;

  public ApiException(ApiError error) {
    super(error.message(), null, false, false);
    this.error = error;
  }

  public ApiError error() {
    return error;
  }
}
