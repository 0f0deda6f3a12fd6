/**
 * The router's implementation: the per-request stages ({@code GenerationPipeline} runs {@code ReserveStage},
 * {@code PrefillStage}, {@code DecodeStage} and {@code ReleaseStage} through one {@code Attempts}; {@code CallState}
 * ends a call exactly once; {@code ChunkAssembler} builds what the client receives; {@code WorkerStatus} reads worker
 * statuses by code and cause), request preparation ({@code RequestValidator}, once per request), the worker
 * registry and health poller, the gRPC adapter and its API-key interceptor, the {@code InferenceService} adapter for
 * the OpenAI HTTP front end, prompt tokenization ({@code PromptTokens}), the cost model's measurements
 * ({@code CostTracker}), the Resilience4j breakers, retry and front-door limits ({@code Resilience}) and the meters
 * ({@code RouterMetrics}). May change at any time; use
 * {@link io.disagg.router} instead.
 *
 * <p>Must not touch: other modules' internals, the engine, kv-transfer. Worker RPCs are started detached from the
 * caller's gRPC context ({@code Context.ROOT}) because the router cancels them itself and must still send ReleaseKv
 * after the client went away.
 */
package io.disagg.router.internal;
