package io.disagg.backend.java;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConformanceTest;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;

/** The SPI conformance kit against the Java engine on stories260K, opened through the service loader. */
class JavaBackendConformanceTest extends BackendConformanceTest {

  @Override
  protected Backend openBackend(int kvBlocks) {
    return Backends.open("java", BackendConfig.builder(TestModels.stories260K()).threads(1).kvBlocks(kvBlocks)
        .blockTokens(16).maxBatchTokens(16).build());
  }
}
