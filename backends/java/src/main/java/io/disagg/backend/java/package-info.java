/**
 * The embedded pure-Java Llama-family engine behind the backend SPI: memory-mapped GGUF weights, Vector API kernels,
 * a paged F32 KV cache in exactly the SPI's {@link io.disagg.backend.spi.KvLayout}.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.backend.java.JavaBackendProvider} — name {@code java}, found through
 *       {@link io.disagg.backend.spi.Backends}.</li>
 *   <li>{@link io.disagg.backend.java.bench.EngineBenchmark} — prefill/decode throughput against the memory-bandwidth
 *       bound measured in the same run.</li>
 * </ul>
 *
 * <p>Owns: the provider only; everything else is in {@code internal}. Must not touch: transports, gRPC, workers.
 */
package io.disagg.backend.java;
