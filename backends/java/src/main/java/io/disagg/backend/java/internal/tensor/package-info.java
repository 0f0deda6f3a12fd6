/**
 * Weight matrices read in place from memory-mapped bytes (one class per encoding: F32, F16, BF16, Q8_0, Q4_0) and the
 * kernels they compute with: Vector API kernels in {@link io.disagg.backend.java.internal.tensor.VectorKernels}, each
 * with a scalar twin in {@link io.disagg.backend.java.internal.tensor.ScalarKernels} that tests compare it against.
 * Decode steps multiply Q8_0 and Q4_0 weights with int8-quantised activations
 * ({@link io.disagg.backend.java.internal.tensor.Q8Activations}, integer kernels). May change at any time.
 *
 * <p>Owns: the arithmetic on encoded weights. Must not touch: files, models, threads (callers split row ranges).
 */
package io.disagg.backend.java.internal.tensor;
