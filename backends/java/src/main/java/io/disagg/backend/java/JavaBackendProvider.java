package io.disagg.backend.java;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendProvider;

/**
 * Opens the embedded pure-Java engine, registered under the name {@value #NAME}. The model is a GGUF file of a
 * Llama-family architecture ({@code llama}, {@code qwen2}) with F32, F16, BF16, Q8_0 or Q4_0 weights; the KV cache is
 * F32 in blocks of {@link BackendConfig#blockTokens()} positions.
 *
 * <p>Config: {@code threads} compute threads (1 runs everything on the caller), {@code kvBlocks} blocks in the pool,
 * {@code maxBatchTokens} prompt tokens computed per forward pass. Option {@code java.min-parallel-work} (default
 * 65536): multiply-adds below which a piece of work is not split across threads, because waking a parked thread
 * costs tens of microseconds; lower it only to exercise the threading on tiny models. Option {@code java.prefix-cache}
 * ({@code true} by default): keep closed sequences' full KV blocks for prompts that start the same way, and publish
 * their hashes through {@link Backend#prefixCache(int)}; {@code false} frees them at close.
 */
public final class JavaBackendProvider implements BackendProvider {
  /** The name on command lines and in {@link io.disagg.backend.spi.Backends#open}. */
  public static final String NAME = "java";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend open(BackendConfig config) {
    return JavaBackend.open(config);
  }
}
