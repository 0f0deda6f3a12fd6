package io.disagg.backend.spi;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How to open a backend.
 *
 * @param modelPath model file
 * @param threads compute threads (1 or more)
 * @param kvBlocks blocks in the KV pool
 * @param blockTokens token positions per KV block
 * @param maxBatchTokens most tokens one prefill call processes together
 * @param options backend-specific settings, documented by each backend
 */
public record BackendConfig(
    Path modelPath, int threads, int kvBlocks, int blockTokens, int maxBatchTokens, Map<String, String> options) {

  public BackendConfig {
    Objects.requireNonNull(modelPath, "modelPath");
    options = Map.copyOf(options);
  }

  public static Builder builder(Path modelPath) {
    return new Builder(modelPath);
  }

  /** Builder with validating setters. */
  public static final class Builder {
    private final Path modelPath;
    private int threads = 1;
    private int kvBlocks = 1024;
    private int blockTokens = 16;
    private int maxBatchTokens = 2048;
    private final Map<String, String> options = new LinkedHashMap<>();

    private Builder(Path modelPath) {
      this.modelPath = Objects.requireNonNull(modelPath, "modelPath");
    }

    public Builder threads(int threads) {
      this.threads = positive("threads", threads);
      return this;
    }

    public Builder kvBlocks(int kvBlocks) {
      this.kvBlocks = positive("kvBlocks", kvBlocks);
      return this;
    }

    public Builder blockTokens(int blockTokens) {
      this.blockTokens = positive("blockTokens", blockTokens);
      return this;
    }

    public Builder maxBatchTokens(int maxBatchTokens) {
      this.maxBatchTokens = positive("maxBatchTokens", maxBatchTokens);
      return this;
    }

    public Builder option(String key, String value) {
      options.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public BackendConfig build() {
      return new BackendConfig(modelPath, threads, kvBlocks, blockTokens, maxBatchTokens, options);
    }

    private static int positive(String name, int value) {
      if (value <= 0) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
      }
      return value;
    }
  }
}
