/**
 * What the prefill and decode workers share, so that the two say and do the same thing in the same way.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.worker.WorkerCli} — a worker's {@code main}: parse with {@link io.disagg.worker.LayeredDefaults}
 *       (flag beats {@code DISAGG_*} environment beats {@code --config} file), open the backend, print the ready
 *       line, drain and close on SIGTERM.</li>
 *   <li>{@link io.disagg.worker.WorkerOptions} — the picocli mixin of the flags every worker has.</li>
 *   <li>{@link io.disagg.worker.WorkerServerBuilder} and {@link io.disagg.worker.WorkerSettings} — the builder
 *       settings every worker server has, validated at once; {@link io.disagg.worker.WorkerServer} — what a running
 *       one offers its command line.</li>
 *   <li>{@link io.disagg.worker.GrpcEndpoint} — the gRPC server a worker binds;
 *       {@link io.disagg.worker.WorkerHealths} — the common part of its Health report.</li>
 *   <li>{@link io.disagg.worker.WorkerMetrics} — the meters every worker publishes;
 *       {@link io.disagg.worker.MetricsEndpoint} — {@code GET /metrics} in the Prometheus text format.</li>
 *   <li>{@link io.disagg.worker.EngineLoop} — an engine's thread, lock, and wake-up and stop protocol.</li>
 *   <li>{@link io.disagg.worker.Protos} (wire ↔ SPI, validating), {@link io.disagg.worker.Statuses} (failures →
 *       gRPC status), {@link io.disagg.worker.RateMeter} (tokens per second over a window).</li>
 * </ul>
 *
 * <p>Owns: nothing that runs on its own; every type here is used by a worker. Must not touch: the workers'
 * packages, kv-transfer, the router, or any backend's internals (only the backend SPI and the wire types).
 */
package io.disagg.worker;
