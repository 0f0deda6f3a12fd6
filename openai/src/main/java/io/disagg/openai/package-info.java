/**
 * OpenAI-compatible HTTP/1.1 front end: {@code GET /v1/models}, {@code POST /v1/completions},
 * {@code POST /v1/chat/completions} and {@code GET /health}, speaking OpenAI's JSON and SSE shapes so that any OpenAI
 * client works unchanged.
 *
 * <p>This package owns the HTTP surface only. It never routes, tokenizes or generates: all of that sits behind
 * {@link io.disagg.openai.InferenceService}, which the router implements. It must not depend on the router or on any
 * worker module; its only Disagg dependency is {@code disagg-proto}.
 *
 * <h2>Starting points</h2>
 * <ul>
 *   <li>{@link io.disagg.openai.OpenAiHttpServer} — build, {@code start()}, {@code port()}, {@code close()}.</li>
 *   <li>{@link io.disagg.openai.InferenceService} — the seam the router implements.</li>
 *   <li>{@link io.disagg.openai.Cancellable} — the handle that stops one generation everywhere.</li>
 * </ul>
 */
package io.disagg.openai;
