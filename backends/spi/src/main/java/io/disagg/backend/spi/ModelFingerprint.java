package io.disagg.backend.spi;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Identifies which model produced a KV cache: the sha256 of the model file plus the KV layout, and, for engines
 * whose cache contents are not interchangeable with the embedded Java engine's, the engine and its build. Two caches
 * are interchangeable only when fingerprints are equal; a cache from another model with the same shapes (or from
 * another engine over the same file) would otherwise import cleanly and silently produce garbage.
 *
 * @param modelSha256 lower-case hex sha256 of the model file (64 characters)
 * @param layout the KV layout
 * @param engine the engine and build that computed the cache, e.g. {@code llama.cpp-b4916}; empty for the embedded
 *     Java engine, whose fingerprints predate this field and keep their text form
 */
public record ModelFingerprint(String modelSha256, KvLayout layout, String engine) {
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");
  private static final Pattern ENGINE = Pattern.compile("[A-Za-z0-9._+-]*");

  /** A fingerprint of the embedded Java engine's cache (no engine tag). */
  public ModelFingerprint(String modelSha256, KvLayout layout) {
    this(modelSha256, layout, "");
  }

  public ModelFingerprint {
    Objects.requireNonNull(modelSha256, "modelSha256");
    Objects.requireNonNull(layout, "layout");
    Objects.requireNonNull(engine, "engine");
    if (!ENGINE.matcher(engine).matches()) {
      throw new IllegalArgumentException("engine: " + engine + " (expected: letters, digits and . _ + - only)");
    }
    modelSha256 = modelSha256.toLowerCase(Locale.ROOT);
    if (!HEX64.matcher(modelSha256).matches()) {
      throw new IllegalArgumentException("modelSha256: " + modelSha256 + " (expected: 64 hex characters)");
    }
  }

  /** Text form carried in transfer headers: {@code <sha256>/<layout>}, then {@code /<engine>} when it has one. */
  public String value() {
    return modelSha256 + "/" + layout.describe() + (engine.isEmpty() ? "" : "/" + engine);
  }

  @Override
  public String toString() {
    return value();
  }
}
