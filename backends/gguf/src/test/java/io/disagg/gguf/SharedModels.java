package io.disagg.gguf;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the read-only test models under {@code disagg.shared.dir}; tests that need them skip when absent. */
final class SharedModels {
  private SharedModels() {
  }

  static Path stories260K() {
    return require("models/stories260K/stories260K.gguf");
  }

  static Path stories260KExpected() {
    return require("models/stories260K/expected-greedy-256.txt");
  }

  static Path stories260KV1() {
    return require("models/stories260K-gguf-v1/tinyllamas-stories-260k-f32.gguf");
  }

  private static Path require(String relative) {
    String dir = System.getProperty("disagg.shared.dir");
    assumeTrue(dir != null && !dir.isBlank(), "system property disagg.shared.dir is not set; skipping");
    Path path = Path.of(dir).resolve(relative);
    assumeTrue(Files.isRegularFile(path), () -> path + " is absent; skipping");
    return path;
  }
}
