/**
 * Implementation of the simulated backend: the SPI adapter, its sequences, the context hash its KV cache carries, the
 * synthetic sampler, the byte tokenizer of shape-only models and the deadline waiter. May change at any time; nothing
 * outside this module uses it.
 */
package io.disagg.backend.simulated.internal;
