/**
 * Test support shared with the prefill worker's tests through this module's test-jar: a named simulator of a backend
 * ({@link io.disagg.decode.testing.SimulatedBackend}), a gate that holds decode and prefill calls
 * ({@link io.disagg.decode.testing.GatedBackend}), a hand-moved clock, the real engine on stories260K
 * ({@link io.disagg.decode.testing.RealModel}), and single-request reference outputs.
 *
 * <p>Must not touch: production code paths; nothing here ships in the worker jars.
 */
package io.disagg.decode.testing;
