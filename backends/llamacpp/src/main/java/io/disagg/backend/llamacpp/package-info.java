/**
 * llama.cpp behind the backend SPI, driven from Java through the Foreign Function and Memory API (no JNI, no
 * jextract): the pinned CPU build b4916 carried by the {@code de.kherud:llama} jar, checked at load.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.backend.llamacpp.LlamaCppBackendProvider} — name {@code llamacpp}, found through
 *       {@link io.disagg.backend.spi.Backends}; its options.</li>
 * </ul>
 *
 * <p>Owns: the provider only; everything else is in {@code internal}. Must not touch: transports, gRPC, workers.
 */
package io.disagg.backend.llamacpp;
