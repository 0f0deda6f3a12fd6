package io.disagg.backend.llamacpp;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConformanceTest;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufWriter;
import io.disagg.gguf.TensorInfo;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The SPI conformance kit against llama.cpp on stories260K, opened through the service loader. */
class LlamaCppConformanceTest extends BackendConformanceTest {
  @TempDir
  static Path dir;

  private static Path otherModel;

  @Override
  protected Backend openBackend(int kvBlocks) {
    return LlamaCppTestModels.open(LlamaCppTestModels.stories260K(), kvBlocks);
  }

  /** The same weights under another name: same shapes and layout, a different file hash. */
  @Override
  protected Backend openOtherModel(int kvBlocks) {
    if (otherModel == null) {
      try (GgufFile src = GgufFile.open(LlamaCppTestModels.stories260K())) {
        GgufWriter.Builder b = GgufWriter.builder().version(3).alignment(32);
        src.metadata().forEach((k, v) -> b.put(k, src.metadataType(k).orElseThrow(),
            k.equals("general.name") ? "stories260K-renamed" : v));
        for (TensorInfo t : src.tensors()) {
          b.tensor(t.name(), t.type(), t.shape(), src.tensorData(t).toArray(ValueLayout.JAVA_BYTE));
        }
        otherModel = b.write(dir.resolve("stories260K-renamed.gguf"));
      }
    }
    return LlamaCppTestModels.open(otherModel, kvBlocks);
  }
}
