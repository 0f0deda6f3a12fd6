/**
 * Implementation of the Java engine: model config and weights from GGUF, the forward pass, the sampler, the sequence
 * and KV-cache bookkeeping, and the parked compute threads. May change at any time; use
 * {@link io.disagg.backend.java.JavaBackendProvider}.
 *
 * <p>Owns: computing with the model. Must not touch: the GGUF format itself (that is {@code io.disagg.gguf}), the
 * SPI's types, or anything about transport.
 */
package io.disagg.backend.java.internal;
