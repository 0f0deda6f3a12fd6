package io.disagg.backend.spi;

/**
 * Opens backends of one kind. Registered through {@code META-INF/services/io.disagg.backend.spi.BackendProvider}.
 */
public interface BackendProvider {

  /** Short name used on command lines, e.g. {@code java}. */
  String name();

  /**
   * Loads the model and allocates the KV pool.
   *
   * @throws BackendException with {@link BackendException.Code#MODEL_INVALID} for an unreadable or unsupported model
   */
  Backend open(BackendConfig config);
}
