package io.disagg.backend.llamacpp;

import io.disagg.backend.llamacpp.internal.LlamaCppBackend;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendProvider;

/**
 * Opens llama.cpp (build b4916, CPU) over a GGUF model, registered under the name {@value #NAME}. The file is
 * validated with the project's GGUF parser before llama.cpp sees it (llama.cpp may abort the process on a malformed
 * file). The KV cache is F16 by default, in blocks of {@link BackendConfig#blockTokens()} positions, and its
 * fingerprint carries the engine tag {@code llama.cpp-b4916}, so its KV never imports into another engine.
 *
 * <p>Options ({@code --backend-option llamacpp.KEY=VALUE}; an unknown {@code llamacpp.*} key is refused):
 * <ul>
 *   <li>{@code llamacpp.threads} — llama.cpp compute threads (default: the worker's {@code --threads}).</li>
 *   <li>{@code llamacpp.kv-type} — {@code f16} (default) or {@code f32}: KV cache element type; f32 doubles the
 *       bytes moved per transfer.</li>
 *   <li>{@code llamacpp.max-sequences} — sequences alive at once (default: min(kvBlocks, 64)).</li>
 *   <li>{@code llamacpp.library} — a b4916 library file to load instead of the bundled Linux x86_64 one.</li>
 * </ul>
 */
public final class LlamaCppBackendProvider implements BackendProvider {
  /** The name on command lines and in {@link io.disagg.backend.spi.Backends#open}. */
  public static final String NAME = "llamacpp";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Backend open(BackendConfig config) {
    return LlamaCppBackend.open(config);
  }
}
