/**
 * The engine benchmark harness: prefill and decode throughput next to the memory-bandwidth bound measured in the same
 * run.
 *
 * <p>Starting points: {@link io.disagg.backend.java.bench.EngineBenchmark#run} (called by {@code disagg bench engine})
 * and {@link io.disagg.backend.java.bench.EngineBenchmark#main}.
 *
 * <p>Owns: measuring. Must not touch: engine internals beyond the public SPI and the kernels it reads memory with.
 */
package io.disagg.backend.java.bench;
