/**
 * Implementation of the OpenAI HTTP front end; may change at any time, never import it from other modules.
 *
 * <p>Owns the Netty pipeline ({@link io.disagg.openai.internal.HttpHandler}), request parsing and validation
 * ({@link io.disagg.openai.internal.RequestParser}), chat-template rendering
 * ({@link io.disagg.openai.internal.ChatTemplate}), the fan-out of one HTTP request into {@code prompts × n}
 * generations ({@link io.disagg.openai.internal.GenerationExchange}) and the single mapping from gRPC statuses and
 * local failures to OpenAI error bodies ({@link io.disagg.openai.internal.ErrorMapper}). It talks to the cluster only
 * through {@link io.disagg.openai.InferenceService}.
 */
package io.disagg.openai.internal;
