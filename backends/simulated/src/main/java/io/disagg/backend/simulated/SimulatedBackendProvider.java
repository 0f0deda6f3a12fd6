package io.disagg.backend.simulated;

import io.disagg.backend.simulated.internal.SimulatedBackend;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendProvider;

/**
 * Opens the simulated accelerator backend, registered under the name {@value #NAME}: a simulator, not an engine. Its
 * prefill and decode calls take the time a {@link Roofline} of a {@link HardwareProfile} predicts for the model's
 * shape, and produce deterministic tokens that carry no meaning (see docs/simulated-hardware.md).
 *
 * <p>The model is the GGUF file at {@link BackendConfig#modelPath()} (only its metadata, tensor table and tokenizer are
 * read), or the shape spec in option {@value SimulatedOptions#SHAPE}, in which case the path is not read and a byte
 * tokenizer is used. Options: see {@link SimulatedOptions}. {@link BackendConfig#threads()} is ignored (nothing is
 * computed); {@code kvBlocks}, {@code blockTokens} and {@code maxBatchTokens} mean what they mean for every backend.
 */
public final class SimulatedBackendProvider implements BackendProvider {
  /** The name on command lines and in {@link io.disagg.backend.spi.Backends#open}. */
  public static final String NAME = "simulated";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend open(BackendConfig config) {
    return SimulatedBackend.open(config);
  }
}
