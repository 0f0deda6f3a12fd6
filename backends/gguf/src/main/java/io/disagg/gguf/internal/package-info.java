/**
 * Implementation of {@code io.disagg.gguf}: the bounds-checked header parser, the SentencePiece and byte-level BPE
 * tokenizers, and the synthetic vocabulary generator. May change at any time; use the public package instead.
 *
 * <p>Must not touch: anything outside this module except the backend SPI's {@code Tokenizer} contract.
 */
package io.disagg.gguf.internal;
