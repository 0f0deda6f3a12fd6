/**
 * The simulated backend's timing benchmark. Starting point: {@link io.disagg.backend.simulated.bench.SimulatedBenchmark#main}
 * (called by {@code disagg bench simulated}). Uses the backend through the SPI only.
 */
package io.disagg.backend.simulated.bench;
