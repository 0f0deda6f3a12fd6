/**
 * Implementation of the llama.cpp backend; may change at any time. Owns the FFM bindings of the pinned llama.cpp build
 * ({@code LlamaLibrary}), the context and its sequences ({@code LlamaCppBackend}, {@code LlamaSequence}), the
 * translation between llama.cpp's sequence state bytes and SPI KV blocks ({@code StateCodec}) and sampling on the
 * logits ({@code LogitSampler}). Must not touch: transports, gRPC, workers, other backends' internals.
 */
package io.disagg.backend.llamacpp.internal;
