package io.disagg.backend.spi;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Identifies which model produced a KV cache: the sha256 of the model file plus the KV layout. Two caches are
 * interchangeable only when fingerprints are equal; a cache from another model with the same shapes would otherwise
 * import cleanly and silently produce garbage.
 *
 * @param modelSha256 lower-case hex sha256 of the model file (64 characters)
 * @param layout the KV layout
 */
public record ModelFingerprint(String modelSha256, KvLayout layout) {
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

  public ModelFingerprint {
    Objects.requireNonNull(modelSha256, "modelSha256");
    Objects.requireNonNull(layout, "layout");
    modelSha256 = modelSha256.toLowerCase(Locale.ROOT);
    if (!HEX64.matcher(modelSha256).matches()) {
      throw new IllegalArgumentException("modelSha256: " + modelSha256 + " (expected: 64 hex characters)");
    }
  }

  /** Text form carried in transfer headers: {@code <sha256>/<layout>}. */
  public String value() {
    return modelSha256 + "/" + layout.describe();
  }

  @Override
  public String toString() {
    return value();
  }
}
