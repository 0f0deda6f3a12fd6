package io.disagg.backend.java.internal;

import io.disagg.backend.spi.BackendException;
import io.disagg.gguf.GgufException;
import io.disagg.gguf.GgufFile;
import java.util.Optional;
import java.util.Set;

/**
 * Hyper-parameters of a Llama-family model, read from GGUF metadata ({@code <arch>.block_count} and friends).
 *
 * @param ropeDims leading elements of each head that RoPE rotates
 * @param ropeScale multiplies every RoPE frequency: {@code 1 / rope.scaling.factor} for linear scaling, else 1
 * @param neoxRope whether RoPE rotates pairs {@code (i, i + ropeDims/2)} (qwen2, qwen3) instead of adjacent pairs
 *     (llama)
 */
record ModelConfig(
    String name,
    String architecture,
    int layers,
    int dim,
    int heads,
    int kvHeads,
    int headDim,
    int feedForwardDim,
    int vocabSize,
    int contextLength,
    float ropeBase,
    int ropeDims,
    float ropeScale,
    boolean neoxRope,
    float rmsEps,
    Optional<String> chatTemplate) {

  private static final Set<String> ARCHITECTURES = Set.of("llama", "qwen2", "qwen3");

  int qDim() {
    return heads * headDim;
  }

  int kvDim() {
    return kvHeads * headDim;
  }

  static ModelConfig from(GgufFile gguf) {
    try {
      String arch = gguf.getString("general.architecture");
      if (!ARCHITECTURES.contains(arch)) {
        throw invalid(gguf, "architecture " + arch + " is not supported by the java backend (expected one of: "
            + ARCHITECTURES + ")");
      }
      int layers = gguf.getInt(arch + ".block_count");
      int dim = gguf.getInt(arch + ".embedding_length");
      int heads = gguf.getInt(arch + ".attention.head_count");
      int kvHeads = (int) gguf.findLong(arch + ".attention.head_count_kv").orElse(heads);
      int ffn = gguf.getInt(arch + ".feed_forward_length");
      if (layers <= 0 || dim <= 0 || heads <= 0 || kvHeads <= 0 || ffn <= 0) {
        throw invalid(gguf, "non-positive dimensions: layers " + layers + ", dim " + dim + ", heads " + heads
            + ", kv heads " + kvHeads + ", ffn " + ffn);
      }
      if (heads % kvHeads != 0) {
        throw invalid(gguf, "head_count " + heads + " is not a multiple of head_count_kv " + kvHeads);
      }
      int headDim = (int) gguf.findLong(arch + ".attention.key_length").orElse(dim / heads);
      if (headDim * heads != dim && !gguf.findLong(arch + ".attention.key_length").isPresent()) {
        throw invalid(gguf, "embedding_length " + dim + " is not a multiple of head_count " + heads);
      }
      int vocab = (int) gguf.tensor("token_embd.weight").shape()[1];
      int context = (int) gguf.findLong(arch + ".context_length").orElse(2048);
      float ropeBase = (float) gguf.findDouble(arch + ".rope.freq_base").orElse(10000.0);
      int ropeDims = (int) gguf.findLong(arch + ".rope.dimension_count").orElse(headDim);
      if (ropeDims <= 0 || ropeDims > headDim || ropeDims % 2 != 0) {
        throw invalid(gguf, "rope.dimension_count " + ropeDims + " (expected: even, in 1.." + headDim + ")");
      }
      float ropeScale = 1f;
      String scaling = gguf.findString(arch + ".rope.scaling.type").orElse("none");
      if (scaling.equals("linear")) {
        ropeScale = (float) (1.0 / gguf.findDouble(arch + ".rope.scaling.factor").orElse(1.0));
      } else if (!scaling.equals("none")) {
        throw invalid(gguf, "rope.scaling.type " + scaling + " is not supported (expected: none or linear)");
      }
      float eps = (float) gguf.findDouble(arch + ".attention.layer_norm_rms_epsilon").orElse(1e-5);
      String name = gguf.findString("general.name").orElse(gguf.path().getFileName().toString());
      return new ModelConfig(name, arch, layers, dim, heads, kvHeads, headDim, ffn, vocab, context, ropeBase,
          ropeDims, ropeScale, !arch.equals("llama"), eps, gguf.findString("tokenizer.chat_template"));
    } catch (GgufException e) {
      throw invalid(gguf, e.getMessage());
    }
  }

  private static BackendException invalid(GgufFile gguf, String message) {
    return new BackendException(BackendException.Code.MODEL_INVALID, gguf.path() + ": " + message);
  }
}
