/**
 * Test support shared with the prefill worker's tests through this module's test-jar: a named simulator of a backend
 * ({@link io.disagg.decode.testing.SimulatedBackend}), a gate that holds decode and prefill calls
 * ({@link io.disagg.decode.testing.GatedBackend}), a hand-moved clock, the real engine on stories260K
 * ({@link io.disagg.decode.testing.RealModel}), single-request reference outputs, a strict reader of a worker's
 * {@code /metrics} scrape ({@link io.disagg.decode.testing.PrometheusText}), and throwaway PEM certificates for the
 * kv-transfer TLS flags ({@link io.disagg.decode.testing.TestCertificates}).
 *
 * <p>Must not touch: production code paths; nothing here ships in the worker jars.
 */
package io.disagg.decode.testing;
