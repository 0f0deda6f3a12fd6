/**
 * The GGUF model file format: reading (memory-mapped, validated), writing, reference encoders for the tensor types the
 * Java engine computes with, synthetic random-weight models, and the tokenizers GGUF metadata describes.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.gguf.GgufFile#open(java.nio.file.Path)} — open a model; metadata accessors, tensor infos
 *       ({@link io.disagg.gguf.TensorInfo}) and their data as read-only {@link java.lang.foreign.MemorySegment}s.</li>
 *   <li>{@link io.disagg.gguf.GgmlType} — every ggml tensor type with its block geometry;
 *       {@link io.disagg.gguf.GgmlCodec} — scalar reference encode/decode of F32, F16, BF16, Q8_0 and Q4_0;
 *       {@link io.disagg.gguf.KQuantCodec} for Q4_K, Q5_K and Q6_K (ggml's super-block layouts).</li>
 *   <li>{@link io.disagg.gguf.GgufWriter} — write GGUF v3 (or v2) files that llama.cpp's tools read.</li>
 *   <li>{@link io.disagg.gguf.SyntheticModel} — seeded random-weight llama/qwen2 models of any shape and type.</li>
 *   <li>{@link io.disagg.gguf.GgufTokenizers#fromGguf(GgufFile)} — the SentencePiece or byte-level BPE tokenizer of a
 *       model, as an {@link io.disagg.backend.spi.Tokenizer}.</li>
 * </ul>
 *
 * <p>Owns: the file format and tokenization. Must not touch: model execution (that is {@code backends/java}), Netty,
 * gRPC or protobuf. Errors are {@link io.disagg.gguf.GgufException}s whose message names the file and the problem.
 */
package io.disagg.gguf;
