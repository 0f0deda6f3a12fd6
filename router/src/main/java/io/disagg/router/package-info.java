/**
 * The router: the cluster's front door. It tokenizes each prompt once, decides per request whether it is served
 * disaggregated (a prefill worker builds the KV cache and pushes it to a decode worker) or colocated (a decode worker
 * alone), picks workers by the load they report, and streams the generation back with its timing breakdown and the
 * workers that served it.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.router.RouterMain} — the command line ({@code --model}, {@code --decode}, {@code --prefill},
 *       {@code --http-port}, {@code --api-key}, ...), printing {@code disagg router ready: grpc=HOST:PORT} (and
 *       {@code http=HOST:PORT}).</li>
 *   <li>{@link io.disagg.router.RouterService} — the router in-process: {@code generate} (streaming, with
 *       cancellation through {@link io.disagg.router.GenerateCall}), {@code model()}, {@code ready()}; what the OpenAI
 *       HTTP front end calls.</li>
 *   <li>{@link io.disagg.router.RouterServer} — {@code disagg.v1.Router} over gRPC, optionally behind API keys.</li>
 *   <li>{@link io.disagg.router.RouterService#openAiHttpServer()} — the OpenAI-compatible HTTP server
 *       ({@code disagg-openai}) wired to the router.</li>
 *   <li>{@link io.disagg.router.ServeModeClassifier} — the serve-mode decision point, with
 *       {@link io.disagg.router.CostModelClassifier} (the default: predicted TTFT from measured prefill speeds, loads
 *       and KV transfer cost) and {@link io.disagg.router.ThresholdClassifier} (prompt length);
 *       {@link io.disagg.router.ClassifierInput} carries {@link io.disagg.router.CostStats} and per-worker cached
 *       prefixes from a {@link io.disagg.router.PrefixCacheIndex}; {@link io.disagg.router.ServeReasons} lists the
 *       reason codes.</li>
 *   <li>{@link io.disagg.router.MetricsServer} — Prometheus {@code /metrics} over the router's meters.</li>
 *   <li>{@link io.disagg.router.WorkerSelector} and {@link io.disagg.router.LeastLoadedSelector} — which worker to
 *       try first, from {@link io.disagg.router.WorkerSnapshot}s.</li>
 *   <li>{@link io.disagg.router.ServedModels} — loads the tokenizer and metadata from a GGUF file.</li>
 * </ul>
 *
 * <p>Owns: routing, request validation, worker registry and health polling, circuit breakers, retries and front-door
 * limits, the router's metrics, the Router gRPC service, API-key checks on it, and the adapter that puts the OpenAI HTTP front end on the router. Must not touch:
 * the engine, the workers' code or kv-transfer. The router reaches workers over gRPC only
 * ({@code disagg.v1.PrefillWorker}, {@code disagg.v1.DecodeWorker}) and reads the model file only for its tokenizer.
 */
package io.disagg.router;
