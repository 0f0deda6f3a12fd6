package io.disagg.backend.simulated;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendConformanceTest;
import io.disagg.backend.spi.Backends;
import java.nio.file.Path;

/** The SPI conformance kit against the simulated backend over the repository's stories260K GGUF (real KV bytes). */
class SimulatedBackendConformanceTest extends BackendConformanceTest {
  static final Path STORIES = Path.of("..", "..", "models", "stories260K", "stories260K.gguf");

  @Override
  protected Backend openBackend(int kvBlocks) {
    return Backends.open("simulated", BackendConfig.builder(STORIES).kvBlocks(kvBlocks).blockTokens(16)
        .maxBatchTokens(16).option(SimulatedOptions.PROFILE, "h100").build());
  }

  /** The same shape given as a spec: same KV layout, a different fingerprint. */
  @Override
  protected Backend openOtherModel(int kvBlocks) {
    Backend own = openBackend(1);
    var m = own.model();
    own.close();
    String spec = "layers=%d,dim=%d,heads=%d,kv-heads=%d,ffn=%d,vocab=%d,ctx=%d,name=other".formatted(m.layers(),
        m.embeddingDim(), m.heads(), m.kvHeads(), m.feedForwardDim(), m.vocabSize(), m.contextLength());
    return Backends.open("simulated", BackendConfig.builder(STORIES).kvBlocks(kvBlocks).blockTokens(16)
        .maxBatchTokens(16).option(SimulatedOptions.SHAPE, spec).option(SimulatedOptions.KV_PAYLOAD, "real").build());
  }
}
