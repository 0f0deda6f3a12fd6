/**
 * The prefill worker: runs prompts through its backend in batches and pushes each KV cache to the decode worker the
 * router named.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.prefill.PrefillWorkerServer} — build one around a {@code Backend}, start it, read its ready
 *       line; usable in-process by tests.</li>
 *   <li>{@link io.disagg.prefill.PrefillWorkerMain} — the command line ({@code --help}).</li>
 *   <li>{@link io.disagg.prefill.PrefillWorkerStats} — counters for tests and operators.</li>
 * </ul>
 *
 * <p>Owns: the PrefillWorker gRPC service and the prefill engine. What it shares with the decode worker (command-line
 * skeleton, builder settings, gRPC endpoint, engine thread, wire conversions, status mapping) lives in
 * {@code io.disagg.worker} (worker-common). Must not touch: the router, decode workers' state (it only pushes to their
 * kv-transfer servers), or any backend's internals (only the backend SPI).
 */
package io.disagg.prefill;
