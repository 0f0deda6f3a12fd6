/**
 * The decode worker: receives KV caches over kv-transfer and decodes them with continuous batching, or prefills and
 * decodes a request itself (colocated).
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.decode.DecodeWorkerServer} — build one around a {@code Backend}, start it, read its ready
 *       line; usable in-process by tests.</li>
 *   <li>{@link io.disagg.decode.DecodeWorkerMain} — the command line ({@code --help}).</li>
 *   <li>{@link io.disagg.decode.DecodeWorkerStats} — counters for tests and operators.</li>
 * </ul>
 *
 * <p>Owns: the DecodeWorker gRPC service and the decode engine. What it shares with the prefill worker (command-line
 * skeleton, builder settings, gRPC endpoint, engine thread, wire conversions, status mapping) lives in
 * {@code io.disagg.worker} (worker-common). Must not touch: the router, prefill workers, or any backend's internals
 * (only the backend SPI).
 */
package io.disagg.decode;
