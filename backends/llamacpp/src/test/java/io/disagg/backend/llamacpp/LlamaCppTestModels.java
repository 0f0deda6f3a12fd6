package io.disagg.backend.llamacpp;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** The embedded stories260K model and its reference greedy tokens; tests needing them skip, with a message, if absent. */
final class LlamaCppTestModels {
  private LlamaCppTestModels() {}

  /** models/stories260K in the repository (the embedded model). */
  static Path stories260K() {
    String project = System.getProperty("disagg.project.dir");
    Path path = project == null ? null : Path.of(project, "models", "stories260K", "stories260K.gguf");
    assumeTrue(path != null && Files.isReadable(path),
        "skipped: stories260K.gguf not found (system property disagg.project.dir=" + project + ")");
    return path;
  }

  /** The 256 greedy token ids from BOS in the shared expected-greedy-256.txt. */
  static int[] expectedGreedy256() {
    String shared = System.getProperty("disagg.shared.dir");
    Path file = shared == null ? null : Path.of(shared, "models", "stories260K", "expected-greedy-256.txt");
    assumeTrue(file != null && Files.isReadable(file), "skipped: expected-greedy-256.txt not found under " + shared);
    try {
      String ids = Files.readAllLines(file).stream().filter(l -> !l.startsWith("#") && !l.isBlank()).findFirst()
          .orElseThrow();
      return Arrays.stream(ids.trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static BackendConfig config(Path model, int kvBlocks) {
    // maxBatchTokens 16 makes longer prompts go through llama_decode in several batches.
    return BackendConfig.builder(model).threads(1).kvBlocks(kvBlocks).blockTokens(16).maxBatchTokens(16).build();
  }

  static Backend open(Path model, int kvBlocks) {
    return Backends.open(LlamaCppBackendProvider.NAME, config(model, kvBlocks));
  }
}
