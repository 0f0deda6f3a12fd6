package io.disagg.gguf;

import io.disagg.gguf.internal.SyntheticVocab;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Random-weight Llama-family models (architectures {@code llama} and {@code qwen2}) of any shape and tensor type,
 * written as GGUF files that {@link GgufFile}, the Java engine and llama.cpp's tools can load. Weights are seeded
 * and reproducible: matrices are normal(0, 0.02), norm weights 1.0, qwen2's attention biases normal(0, 0.02); each
 * tensor's values depend only on the seed and the tensor's name.
 *
 * <pre>{@code
 * Path model = SyntheticModel.fromShapeSpec("tiny").tensorType(GgmlType.Q8_0).seed(7).write(dir.resolve("m.gguf"));
 * }</pre>
 *
 * <p>Presets: {@code tiny} (4 layers, dim 64, 4 heads, 2 KV heads, ffn 192, vocab 512: about 270K parameters) and
 * {@code 100m} (12 layers, dim 768, 12 heads, 4 KV heads, ffn 2048, vocab 32000, tied output: about 100M).
 */
public final class SyntheticModel {
  static final double WEIGHT_STD = 0.02;

  /** What {@link Builder#typeName(String)} accepts. */
  public static final String TYPE_NAMES = "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, Q4_K_M";

  private SyntheticModel() {
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder from {@code "tiny"}, {@code "100m"}, or comma-separated {@code key=value} pairs, optionally starting
   * with a preset: {@code "100m,type=q8_0"}. Keys: {@code layers, dim, heads, kv-heads, ffn, vocab, ctx, arch, type,
   * tied, seed, tokenizer, name}.
   *
   * @throws IllegalArgumentException for unknown keys or invalid values
   */
  public static Builder fromShapeSpec(String spec) {
    Objects.requireNonNull(spec, "spec");
    Builder b = builder();
    for (String part : spec.split(",")) {
      String item = part.strip();
      if (item.isEmpty()) {
        continue;
      }
      int eq = item.indexOf('=');
      if (eq < 0) {
        switch (item.toLowerCase(Locale.ROOT)) {
          case "tiny" -> b.layers(4).embeddingDim(64).heads(4).kvHeads(2).feedForwardDim(192).vocabSize(512)
              .contextLength(256).name("synthetic-tiny");
          case "100m" -> b.layers(12).embeddingDim(768).heads(12).kvHeads(4).feedForwardDim(2048).vocabSize(32000)
              .contextLength(2048).tiedOutput(true).name("synthetic-100m");
          default -> throw new IllegalArgumentException(
              "spec: %s (expected: a preset tiny or 100m, or key=value pairs)".formatted(item));
        }
        continue;
      }
      String key = item.substring(0, eq).strip().toLowerCase(Locale.ROOT);
      String value = item.substring(eq + 1).strip();
      try {
        switch (key) {
          case "layers" -> b.layers(Integer.parseInt(value));
          case "dim" -> b.embeddingDim(Integer.parseInt(value));
          case "heads" -> b.heads(Integer.parseInt(value));
          case "kv-heads", "kv_heads", "kvheads" -> b.kvHeads(Integer.parseInt(value));
          case "ffn" -> b.feedForwardDim(Integer.parseInt(value));
          case "vocab" -> b.vocabSize(Integer.parseInt(value));
          case "ctx" -> b.contextLength(Integer.parseInt(value));
          case "arch" -> b.architecture(value);
          case "type" -> b.typeName(value);
          case "tied" -> b.tiedOutput(Boolean.parseBoolean(value));
          case "seed" -> b.seed(Long.parseLong(value));
          case "tokenizer" -> b.tokenizer(value);
          case "name" -> b.name(value);
          default -> throw new IllegalArgumentException(("spec key: %s (expected: one of layers, dim, heads, kv-heads, "
              + "ffn, vocab, ctx, arch, type, tied, seed, tokenizer, name)").formatted(key));
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("spec: %s (expected: %s=<number>)".formatted(item, key), e);
      }
    }
    return b;
  }

  /** The shape of a model to generate. Setters validate their own argument; cross-checks run at {@link #write}. */
  public static final class Builder {
    private String architecture = "llama";
    private int layers = 4;
    private int embeddingDim = 64;
    private int heads = 4;
    private int kvHeads = -1;
    private int feedForwardDim = 192;
    private int vocabSize = 512;
    private int contextLength = 256;
    private GgmlType tensorType = GgmlType.F32;
    private boolean q4KMix;
    private boolean tiedOutput;
    private long seed;
    private String name = "synthetic";
    private String tokenizer;
    private float ropeFreqBase = 10_000f;

    private Builder() {
    }

    /** {@code llama} (default) or {@code qwen2} (adds q/k/v biases, defaults to the gpt2 tokenizer). */
    public Builder architecture(String architecture) {
      if (!"llama".equals(architecture) && !"qwen2".equals(architecture)) {
        throw new IllegalArgumentException("architecture: %s (expected: llama or qwen2)".formatted(architecture));
      }
      this.architecture = architecture;
      return this;
    }

    public Builder layers(int layers) {
      this.layers = positive("layers", layers);
      return this;
    }

    public Builder embeddingDim(int embeddingDim) {
      this.embeddingDim = positive("embeddingDim", embeddingDim);
      return this;
    }

    public Builder heads(int heads) {
      this.heads = positive("heads", heads);
      return this;
    }

    /** KV heads for grouped-query attention; defaults to {@link #heads(int)}. */
    public Builder kvHeads(int kvHeads) {
      this.kvHeads = positive("kvHeads", kvHeads);
      return this;
    }

    public Builder feedForwardDim(int feedForwardDim) {
      this.feedForwardDim = positive("feedForwardDim", feedForwardDim);
      return this;
    }

    public Builder vocabSize(int vocabSize) {
      this.vocabSize = positive("vocabSize", vocabSize);
      return this;
    }

    public Builder contextLength(int contextLength) {
      this.contextLength = positive("contextLength", contextLength);
      return this;
    }

    /**
     * Type of the 2-D weight matrices (norms and biases stay F32): F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K or Q6_K.
     * K-quants need {@code dim} and {@code ffn} to be multiples of 256.
     */
    public Builder tensorType(GgmlType tensorType) {
      Objects.requireNonNull(tensorType, "tensorType");
      if (!tensorType.isSupported()) {
        throw new IllegalArgumentException("tensorType: %s (expected: one of %s)".formatted(tensorType, TYPE_NAMES));
      }
      this.tensorType = tensorType;
      this.q4KMix = false;
      return this;
    }

    /**
     * A {@link #tensorType} by name, or the mix {@code Q4_K_M}: Q4_K everywhere except Q6_K for the output head (the
     * token embeddings when tied) and, as llama.cpp's {@code use_more_bits}, for {@code attn_v} and {@code ffn_down}
     * of the first and last eighth of the layers and every third layer between.
     *
     * @throws IllegalArgumentException naming the accepted types
     */
    public Builder typeName(String name) {
      String upper = Objects.requireNonNull(name, "name").strip().toUpperCase(Locale.ROOT);
      if (upper.equals("Q4_K_M")) {
        tensorType(GgmlType.Q4_K);
        q4KMix = true;
        return this;
      }
      try {
        return tensorType(GgmlType.valueOf(upper));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("type: %s (expected: one of %s)".formatted(name, TYPE_NAMES), e);
      }
    }

    /** Whether the output projection reuses {@code token_embd.weight} (no {@code output.weight} tensor). */
    public Builder tiedOutput(boolean tiedOutput) {
      this.tiedOutput = tiedOutput;
      return this;
    }

    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    public Builder name(String name) {
      this.name = Objects.requireNonNull(name, "name");
      return this;
    }

    /** {@code llama} (SentencePiece) or {@code gpt2} (byte-level BPE); defaults to llama for llama, gpt2 for qwen2. */
    public Builder tokenizer(String tokenizer) {
      if (!"llama".equals(tokenizer) && !"gpt2".equals(tokenizer)) {
        throw new IllegalArgumentException("tokenizer: %s (expected: llama or gpt2)".formatted(tokenizer));
      }
      this.tokenizer = tokenizer;
      return this;
    }

    public Builder ropeFreqBase(float ropeFreqBase) {
      if (!(ropeFreqBase > 0) || Float.isInfinite(ropeFreqBase)) {
        throw new IllegalArgumentException("ropeFreqBase: %s (expected: > 0)".formatted(ropeFreqBase));
      }
      this.ropeFreqBase = ropeFreqBase;
      return this;
    }

    /** Total number of weights (elements of all tensors, norms and biases included). */
    public long parameterCount() {
      validate();
      long total = 0;
      for (TensorSpec t : tensorSpecs()) {
        total += t.elements();
      }
      return total;
    }

    /**
     * Generates and writes the model, one tensor in memory at a time.
     *
     * @throws IllegalArgumentException if the shape is inconsistent, e.g.
     *     {@code "heads: 5 (expected: divides embeddingDim 64)"}
     * @throws GgufException if writing fails
     */
    public Path write(Path path) {
      validate();
      GgufWriter.Builder out = GgufWriter.builder();
      String a = architecture;
      out.put("general.architecture", a)
          .put("general.name", name)
          .put("general.file_type", GgufValueType.UINT32, q4KMix ? 15 : fileType(tensorType))
          .put(a + ".block_count", GgufValueType.UINT32, layers)
          .put(a + ".context_length", GgufValueType.UINT32, contextLength)
          .put(a + ".embedding_length", GgufValueType.UINT32, embeddingDim)
          .put(a + ".feed_forward_length", GgufValueType.UINT32, feedForwardDim)
          .put(a + ".attention.head_count", GgufValueType.UINT32, heads)
          .put(a + ".attention.head_count_kv", GgufValueType.UINT32, effectiveKvHeads())
          .put(a + ".rope.freq_base", GgufValueType.FLOAT32, ropeFreqBase)
          .put(a + ".rope.dimension_count", GgufValueType.UINT32, embeddingDim / heads)
          .put(a + ".attention.layer_norm_rms_epsilon", GgufValueType.FLOAT32, "qwen2".equals(a) ? 1e-6f : 1e-5f)
          .put(a + ".vocab_size", GgufValueType.UINT32, vocabSize);
      putTokenizer(out);
      for (TensorSpec t : tensorSpecs()) {
        out.tensor(t.name, t.type, t.shape, () -> generate(t));
      }
      return out.write(path);
    }

    private void putTokenizer(GgufWriter.Builder out) {
      if ("llama".equals(effectiveTokenizer())) {
        SyntheticVocab.Llama v = SyntheticVocab.llama(vocabSize);
        out.put("tokenizer.ggml.model", "llama")
            .put("tokenizer.ggml.tokens", v.tokens())
            .put("tokenizer.ggml.scores", v.scores())
            .put("tokenizer.ggml.token_type", v.types())
            .put("tokenizer.ggml.bos_token_id", GgufValueType.UINT32, 1)
            .put("tokenizer.ggml.eos_token_id", GgufValueType.UINT32, 2)
            .put("tokenizer.ggml.unknown_token_id", GgufValueType.UINT32, 0)
            .put("tokenizer.ggml.add_bos_token", true)
            .put("tokenizer.ggml.add_eos_token", false);
      } else {
        SyntheticVocab.Gpt2 v = SyntheticVocab.gpt2(vocabSize);
        out.put("tokenizer.ggml.model", "gpt2")
            .put("tokenizer.ggml.pre", "qwen2".equals(architecture) ? "qwen2" : "gpt-2")
            .put("tokenizer.ggml.tokens", v.tokens())
            .put("tokenizer.ggml.token_type", v.types())
            .put("tokenizer.ggml.merges", v.merges())
            .put("tokenizer.ggml.bos_token_id", GgufValueType.UINT32, v.endOfText())
            .put("tokenizer.ggml.eos_token_id", GgufValueType.UINT32, v.endOfText())
            .put("tokenizer.ggml.eot_token_id", GgufValueType.UINT32, v.imEnd())
            .put("tokenizer.ggml.add_bos_token", false)
            .put("tokenizer.chat_template", CHATML);
      }
    }

    private static final String CHATML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' "
        + "+ message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private record TensorSpec(String name, GgmlType type, long[] shape, double std, float constant) {
      long elements() {
        long n = 1;
        for (long d : shape) {
          n *= d;
        }
        return n;
      }
    }

    private List<TensorSpec> tensorSpecs() {
      int d = embeddingDim;
      int kv = embeddingDim / heads * effectiveKvHeads();
      List<TensorSpec> specs = new ArrayList<>();
      specs.add(matrix("token_embd.weight", d, vocabSize, tiedOutput && q4KMix));
      for (int i = 0; i < layers; i++) {
        String p = "blk." + i + ".";
        boolean moreBits = q4KMix && (i < layers / 8 || i >= 7 * layers / 8 || (i - layers / 8) % 3 == 2);
        specs.add(norm(p + "attn_norm.weight", d));
        specs.add(matrix(p + "attn_q.weight", d, d));
        specs.add(matrix(p + "attn_k.weight", d, kv));
        specs.add(matrix(p + "attn_v.weight", d, kv, moreBits));
        if ("qwen2".equals(architecture)) {
          specs.add(new TensorSpec(p + "attn_q.bias", GgmlType.F32, new long[] {d}, WEIGHT_STD, 0));
          specs.add(new TensorSpec(p + "attn_k.bias", GgmlType.F32, new long[] {kv}, WEIGHT_STD, 0));
          specs.add(new TensorSpec(p + "attn_v.bias", GgmlType.F32, new long[] {kv}, WEIGHT_STD, 0));
        }
        specs.add(matrix(p + "attn_output.weight", d, d));
        specs.add(norm(p + "ffn_norm.weight", d));
        specs.add(matrix(p + "ffn_gate.weight", d, feedForwardDim));
        specs.add(matrix(p + "ffn_up.weight", d, feedForwardDim));
        specs.add(matrix(p + "ffn_down.weight", feedForwardDim, d, moreBits));
      }
      specs.add(norm("output_norm.weight", d));
      if (!tiedOutput) {
        specs.add(matrix("output.weight", d, vocabSize, q4KMix));
      }
      return specs;
    }

    private TensorSpec matrix(String name, int in, int out) {
      return matrix(name, in, out, false);
    }

    /** A matrix in the main type, or in Q6_K where the Q4_K_M mix gives it more bits. */
    private TensorSpec matrix(String name, int in, int out, boolean q6k) {
      return new TensorSpec(name, q6k ? GgmlType.Q6_K : tensorType, new long[] {in, out}, WEIGHT_STD, 0);
    }

    private static TensorSpec norm(String name, int n) {
      return new TensorSpec(name, GgmlType.F32, new long[] {n}, 0, 1f);
    }

    private byte[] generate(TensorSpec t) {
      long n = t.elements();
      if (n > Integer.MAX_VALUE - 16) {
        throw new IllegalArgumentException("tensor %s has %d elements (expected: < 2^31)".formatted(t.name, n));
      }
      float[] values = new float[(int) n];
      if (t.std == 0) {
        java.util.Arrays.fill(values, t.constant);
      } else {
        // Seeded per tensor name, so a tensor's values do not depend on which other tensors the model has.
        SplittableRandom random = new SplittableRandom(seed * 0x9E37_79B9_7F4A_7C15L + t.name.hashCode());
        for (int i = 0; i < values.length; i++) {
          values[i] = (float) (random.nextGaussian() * t.std);
        }
      }
      return GgmlCodec.encode(t.type, values);
    }

    private int effectiveKvHeads() {
      return kvHeads < 0 ? heads : kvHeads;
    }

    private String effectiveTokenizer() {
      return tokenizer != null ? tokenizer : ("qwen2".equals(architecture) ? "gpt2" : "llama");
    }

    private void validate() {
      if (embeddingDim % heads != 0) {
        throw new IllegalArgumentException("heads: %d (expected: divides embeddingDim %d)".formatted(heads, embeddingDim));
      }
      if ((embeddingDim / heads) % 2 != 0) {
        throw new IllegalArgumentException("heads: %d (expected: an even head dimension, embeddingDim %d / %d = %d)"
            .formatted(heads, embeddingDim, heads, embeddingDim / heads));
      }
      if (heads % effectiveKvHeads() != 0) {
        throw new IllegalArgumentException("kvHeads: %d (expected: divides heads %d)"
            .formatted(effectiveKvHeads(), heads));
      }
      int block = tensorType.blockSize();
      if (embeddingDim % block != 0) {
        throw new IllegalArgumentException("embeddingDim: %d (expected: a multiple of %s's block size %d)"
            .formatted(embeddingDim, tensorType, block));
      }
      if (feedForwardDim % block != 0) {
        throw new IllegalArgumentException("feedForwardDim: %d (expected: a multiple of %s's block size %d)"
            .formatted(feedForwardDim, tensorType, block));
      }
      int min = "llama".equals(effectiveTokenizer()) ? SyntheticVocab.LLAMA_MIN_SIZE : SyntheticVocab.GPT2_MIN_SIZE;
      if (vocabSize < min) {
        throw new IllegalArgumentException("vocabSize: %d (expected: >= %d for the %s tokenizer)"
            .formatted(vocabSize, min, effectiveTokenizer()));
      }
    }

    /** The settings, for logs and benchmark output. */
    public Map<String, Object> describe() {
      Map<String, Object> m = new LinkedHashMap<>();
      m.put("architecture", architecture);
      m.put("layers", layers);
      m.put("embeddingDim", embeddingDim);
      m.put("heads", heads);
      m.put("kvHeads", effectiveKvHeads());
      m.put("feedForwardDim", feedForwardDim);
      m.put("vocabSize", vocabSize);
      m.put("contextLength", contextLength);
      m.put("tensorType", q4KMix ? "Q4_K_M" : tensorType);
      m.put("tiedOutput", tiedOutput);
      m.put("tokenizer", effectiveTokenizer());
      m.put("seed", seed);
      return m;
    }

    @Override
    public String toString() {
      return "SyntheticModel.Builder" + describe();
    }
  }

  /** llama.cpp's {@code general.file_type} (LLAMA_FTYPE_*) for a model whose matrices are all {@code type}. */
  static int fileType(GgmlType type) {
    return switch (type) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 7;
      case Q4_K -> 14; // LLAMA_FTYPE_MOSTLY_Q4_K_S; the Q4_K_M mix is 15
      case Q5_K -> 16; // LLAMA_FTYPE_MOSTLY_Q5_K_S
      case Q6_K -> 18;
      case BF16 -> 32;
      default -> throw new IllegalArgumentException("tensorType: " + type);
    };
  }

  private static int positive(String what, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException("%s: %d (expected: > 0)".formatted(what, value));
    }
    return value;
  }
}
