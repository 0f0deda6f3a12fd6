package io.disagg.decode.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.IntStream;

/** The real engine on the tiny stories260K model; tests using it are skipped, saying why, when the file is absent. */
public final class RealModel {
  private RealModel() {}

  public static Path path() {
    String shared = System.getProperty("disagg.shared.dir", "../shared");
    return Path.of(shared, "models", "stories260K", "stories260K.gguf");
  }

  /** Opens the "java" backend on stories260K, or skips the calling test. */
  public static Backend open(int kvBlocks) {
    Path model = path();
    assumeTrue(Files.isRegularFile(model), "stories260K model not found at " + model.toAbsolutePath()
        + " (set -Ddisagg.shared.dir); skipping real-engine test");
    return Backends.open("java", BackendConfig.builder(model).kvBlocks(kvBlocks).blockTokens(16).build());
  }

  /** A prompt of {@code length} tokens: BOS, then ordinary pieces picked by {@code seed}. */
  public static int[] prompt(int seed, int length) {
    return IntStream.range(0, length).map(i -> i == 0 ? 1 : 3 + Math.floorMod(seed * 131 + i * 97, 509)).toArray();
  }
}
