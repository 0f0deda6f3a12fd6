package io.disagg.backend.java;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.BackendConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Locates the shared test models; tests that need them are skipped, with a message, where the folder is absent. */
public final class TestModels {
  private TestModels() {}

  public static Path stories260K() {
    String shared = System.getProperty("disagg.shared.dir");
    Path path = shared == null ? null : Path.of(shared, "models", "stories260K", "stories260K.gguf");
    assumeTrue(path != null && Files.isReadable(path),
        "skipped: stories260K.gguf not found (system property disagg.shared.dir=" + shared + ")");
    return path;
  }

  /** The 256 greedy token ids from BOS listed in {@code expected-greedy-256.txt}. */
  public static int[] expectedGreedy256() {
    Path file = stories260K().resolveSibling("expected-greedy-256.txt");
    try {
      List<String> lines = Files.readAllLines(file);
      String ids = lines.stream().filter(l -> !l.startsWith("#") && !l.isBlank()).findFirst().orElseThrow();
      return Arrays.stream(ids.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static JavaBackend open(Path model, int threads, int kvBlocks) {
    // Tiny models never reach the default split threshold; a threshold of 1 makes threads > 1 really split work.
    return JavaBackend.open(BackendConfig.builder(model).threads(threads).kvBlocks(kvBlocks).blockTokens(16)
        .maxBatchTokens(64).option(JavaBackend.MIN_PARALLEL_WORK, "1").build());
  }
}
