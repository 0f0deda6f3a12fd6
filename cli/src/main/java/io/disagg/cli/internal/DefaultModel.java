package io.disagg.cli.internal;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the embedded default model (stories260K) lives. */
public final class DefaultModel {
  static final String RELATIVE_PATH = "models/stories260K/stories260K.gguf";

  private DefaultModel() {}

  /**
   * The embedded model, found relative to {@code disagg.home} (set by the launcher) or the working directory.
   *
   * @throws IllegalStateException when it cannot be found, saying where it looked
   */
  public static Path path() {
    String home = System.getProperty("disagg.home");
    Path base = home != null ? Path.of(home) : Path.of("").toAbsolutePath();
    Path candidate = base.resolve(RELATIVE_PATH);
    if (!Files.isRegularFile(candidate)) {
      throw new IllegalStateException("embedded default model not found at " + candidate
          + "; pass --model FILE or run through ./disagg from the repository");
    }
    return candidate;
  }
}
