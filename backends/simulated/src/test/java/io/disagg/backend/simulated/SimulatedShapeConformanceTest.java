package io.disagg.backend.simulated;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendConformanceTest;
import io.disagg.backend.spi.Backends;
import java.nio.file.Path;

/**
 * The SPI conformance kit against a Llama-3-70B-shaped simulated model on a CS-3-like group: virtual KV payloads, the
 * byte tokenizer, no model file. Time is scaled to 0 so the kit does not wait for the simulated hardware.
 */
class SimulatedShapeConformanceTest extends BackendConformanceTest {
  private static Backend open(String name, int kvBlocks) {
    return Backends.open("simulated", BackendConfig.builder(Path.of("unused.gguf")).kvBlocks(kvBlocks).blockTokens(16)
        .maxBatchTokens(16)
        .option(SimulatedOptions.SHAPE, "llama3-70b,name=" + name)
        .option(SimulatedOptions.PROFILE, "cs3")
        .option(SimulatedOptions.DEVICES, "4")
        .option(SimulatedOptions.TIME_SCALE, "0")
        .build());
  }

  @Override
  protected Backend openBackend(int kvBlocks) {
    return open("llama3-70b", kvBlocks);
  }

  @Override
  protected Backend openOtherModel(int kvBlocks) {
    return open("llama3-70b-other", kvBlocks);
  }
}
