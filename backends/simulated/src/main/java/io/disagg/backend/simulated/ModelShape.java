package io.disagg.backend.simulated;

import io.disagg.gguf.GgmlType;
import io.disagg.gguf.GgufException;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.SyntheticModel;
import io.disagg.gguf.TensorInfo;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * What the roofline needs to know about a model: its transformer shape and how many weights and weight bytes one
 * forward pass reads. Comes from a real GGUF file ({@link #fromGguf}) or a shape spec ({@link #fromSpec}).
 *
 * @param name model name
 * @param architecture e.g. {@code llama}
 * @param layers transformer blocks
 * @param embeddingDim hidden size
 * @param heads query heads
 * @param kvHeads key/value heads
 * @param headDim elements per head
 * @param feedForwardDim MLP hidden size
 * @param vocabSize tokens in the vocabulary
 * @param contextLength most positions per sequence
 * @param parameterCount all weights
 * @param matmulParameters weights multiplied per token (all but the embedding table's lookup, unless it is tied to the
 *     output projection): each costs 2 FLOPs per token
 * @param weightBytes bytes of weights read per forward pass (the decode bound)
 */
public record ModelShape(
    String name,
    String architecture,
    int layers,
    int embeddingDim,
    int heads,
    int kvHeads,
    int headDim,
    int feedForwardDim,
    int vocabSize,
    int contextLength,
    long parameterCount,
    long matmulParameters,
    long weightBytes) {

  /**
   * Presets beyond {@link SyntheticModel#fromShapeSpec}'s {@code tiny} and {@code 100m}, with the published shapes of
   * Meta's Llama 3 models (config.json of meta-llama/Meta-Llama-3-8B and -70B), weights in BF16.
   */
  static final Map<String, String> PRESETS = Map.of(
      "llama3-8b", "layers=32,dim=4096,heads=32,kv-heads=8,ffn=14336,vocab=128256,ctx=8192,type=bf16,name=llama3-8b",
      "llama3-70b",
      "layers=80,dim=8192,heads=64,kv-heads=8,ffn=28672,vocab=128256,ctx=8192,type=bf16,name=llama3-70b");

  public ModelShape {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(architecture, "architecture");
    for (int v : new int[] {layers, embeddingDim, heads, kvHeads, headDim, feedForwardDim, vocabSize, contextLength}) {
      if (v <= 0) {
        throw new IllegalArgumentException("model shape: non-positive dimension in " + name);
      }
    }
    if (parameterCount <= 0 || matmulParameters <= 0 || weightBytes <= 0) {
      throw new IllegalArgumentException("model shape: non-positive parameter or byte count in " + name);
    }
  }

  /**
   * The shape of a model given as a spec: {@code llama3-8b}, {@code llama3-70b}, or anything
   * {@link SyntheticModel#fromShapeSpec} accepts ({@code tiny}, {@code 100m}, {@code key=value} pairs such as
   * {@code layers=32,dim=4096,heads=32,kv-heads=8,ffn=14336,vocab=128256,type=bf16}), presets first and later pairs
   * overriding them; {@code ;} separates pairs too, because {@code --backend-option} splits its value on commas. No
   * file is written: parameter and byte counts are computed from the shape.
   *
   * @throws IllegalArgumentException for unknown keys or an inconsistent shape
   */
  public static ModelShape fromSpec(String spec) {
    Objects.requireNonNull(spec, "spec");
    StringBuilder expanded = new StringBuilder();
    for (String part : spec.replace(';', ',').split(",")) {
      String item = part.strip();
      String preset = PRESETS.get(item.toLowerCase(Locale.ROOT));
      expanded.append(expanded.isEmpty() ? "" : ",").append(preset != null ? preset : item);
    }
    SyntheticModel.Builder b = SyntheticModel.fromShapeSpec(expanded.toString());
    long params = b.parameterCount(); // validates the shape
    Map<String, Object> d = b.describe();
    int layers = (Integer) d.get("layers");
    int dim = (Integer) d.get("embeddingDim");
    int heads = (Integer) d.get("heads");
    int kvHeads = (Integer) d.get("kvHeads");
    int ffn = (Integer) d.get("feedForwardDim");
    int vocab = (Integer) d.get("vocabSize");
    GgmlType type = (GgmlType) d.get("tensorType");
    boolean tied = (Boolean) d.get("tiedOutput");
    String name = nameOf(expanded.toString(), spec);
    long embedding = (long) vocab * dim;
    long matmul = tied ? params : params - embedding;
    // matrices are stored in `type`; norms (and qwen2 biases) stay F32 but are a negligible share
    long weightBytes = (long) Math.ceil((double) matmul / type.blockSize()) * type.typeSize();
    return new ModelShape(name, (String) d.get("architecture"), layers, dim, heads, kvHeads, dim / heads, ffn, vocab,
        (Integer) d.get("contextLength"), params, matmul, weightBytes);
  }

  private static String nameOf(String expanded, String spec) {
    String name = null;
    for (String part : expanded.split(",")) {
      String item = part.strip();
      if (item.startsWith("name=")) {
        name = item.substring(5).strip();
      } else if (item.equalsIgnoreCase("tiny") || item.equalsIgnoreCase("100m")) {
        name = "synthetic-" + item.toLowerCase(Locale.ROOT);
      }
    }
    return name != null ? name : "shape[" + spec.strip() + "]";
  }

  /**
   * The shape of a Llama-family GGUF model, from its metadata ({@code <arch>.block_count} and friends) and tensor
   * table.
   *
   * @throws GgufException when a required key or the embedding tensor is missing
   */
  public static ModelShape fromGguf(GgufFile gguf) {
    String arch = gguf.getString("general.architecture");
    int layers = gguf.getInt(arch + ".block_count");
    int dim = gguf.getInt(arch + ".embedding_length");
    int heads = gguf.getInt(arch + ".attention.head_count");
    int kvHeads = (int) gguf.findLong(arch + ".attention.head_count_kv").orElse(heads);
    int ffn = gguf.getInt(arch + ".feed_forward_length");
    if (heads <= 0 || dim <= 0) {
      throw new GgufException(gguf.path() + ": non-positive head_count or embedding_length");
    }
    int headDim = (int) gguf.findLong(arch + ".attention.key_length").orElse(dim / heads);
    TensorInfo embedding = gguf.tensor("token_embd.weight");
    int vocab = (int) embedding.shape()[1];
    int context = (int) gguf.findLong(arch + ".context_length").orElse(2048);
    boolean tied = gguf.findTensor("output.weight").isEmpty();
    long params = 0;
    long bytes = 0;
    for (TensorInfo t : gguf.tensors()) {
      params += t.elementCount();
      bytes += t.byteSize();
    }
    long matmul = tied ? params : params - embedding.elementCount();
    long weightBytes = tied ? bytes : bytes - embedding.byteSize();
    String name = gguf.findString("general.name").orElse(gguf.path().getFileName().toString());
    return new ModelShape(name, arch, layers, dim, heads, kvHeads, headDim, ffn, vocab, context, params, matmul,
        weightBytes);
  }

  /** Bytes of keys plus values per token across all layers, at 16-bit precision (what the hardware would hold). */
  public long kvBytesPerToken() {
    return 2L * layers * kvHeads * headDim * 2;
  }

  /** Canonical text of the shape, hashed into the fingerprint of a spec-given model. */
  public String describe() {
    return "%s/%s/L%d.D%d.H%d.KV%d.HD%d.F%d.V%d.C%d.P%d.W%d".formatted(name, architecture, layers, embeddingDim, heads,
        kvHeads, headDim, feedForwardDim, vocabSize, contextLength, parameterCount, weightBytes);
  }
}
