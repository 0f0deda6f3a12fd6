package io.disagg.backend.java.internal;

import io.disagg.backend.java.internal.tensor.WeightFormat;
import io.disagg.backend.java.internal.tensor.WeightMatrix;
import io.disagg.backend.spi.BackendException;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.TensorInfo;
import java.util.Arrays;
import java.util.Optional;

/**
 * The tensors of a Llama-family model, named as llama.cpp names them. Matrices are views of the memory-mapped file;
 * only the small norm and bias vectors are decoded to the heap. Valid while the {@link GgufFile} is open.
 */
final class ModelWeights {
  final WeightMatrix tokenEmbedding; // [vocab][dim]
  final float[][] attnNorm; // [layer][dim]
  final float[][] ffnNorm; // [layer][dim]
  final float[] outputNorm; // [dim]
  final WeightMatrix[] wq; // [layer]: [qDim][dim]
  final WeightMatrix[] wk; // [layer]: [kvDim][dim]
  final WeightMatrix[] wv; // [layer]: [kvDim][dim]
  final WeightMatrix[] wo; // [layer]: [dim][qDim]
  final WeightMatrix[] wGate; // [layer]: [ffn][dim]
  final WeightMatrix[] wUp; // [layer]: [ffn][dim]
  final WeightMatrix[] wDown; // [layer]: [dim][ffn]
  final float[][] bq; // [layer][qDim], or null rows when the model has no q bias (llama)
  final float[][] bk; // [layer][kvDim], or null rows
  final float[][] bv; // [layer][kvDim], or null rows
  final float[][] qNorm; // [layer][headDim]: qwen3's RMS norm of each query head before RoPE, or null rows
  final float[][] kNorm; // [layer][headDim]: the same for each key head, or null rows
  final WeightMatrix output; // [vocab][dim]; the embedding matrix itself when tied
  final float[] ropeFrequencyFactors; // [ropeDims / 2] divisors of the RoPE frequencies (Llama 3.1), or null
  final long parameterCount;
  final long bytesPerToken;

  ModelWeights(GgufFile gguf, ModelConfig c) {
    int n = c.layers();
    tokenEmbedding = matrix(gguf, "token_embd.weight", c.vocabSize(), c.dim());
    attnNorm = new float[n][];
    ffnNorm = new float[n][];
    wq = new WeightMatrix[n];
    wk = new WeightMatrix[n];
    wv = new WeightMatrix[n];
    wo = new WeightMatrix[n];
    wGate = new WeightMatrix[n];
    wUp = new WeightMatrix[n];
    wDown = new WeightMatrix[n];
    bq = new float[n][];
    bk = new float[n][];
    bv = new float[n][];
    qNorm = new float[n][];
    kNorm = new float[n][];
    for (int l = 0; l < n; l++) {
      String p = "blk." + l + ".";
      attnNorm[l] = vector(gguf, p + "attn_norm.weight", c.dim());
      ffnNorm[l] = vector(gguf, p + "ffn_norm.weight", c.dim());
      wq[l] = matrix(gguf, p + "attn_q.weight", c.qDim(), c.dim());
      wk[l] = matrix(gguf, p + "attn_k.weight", c.kvDim(), c.dim());
      wv[l] = matrix(gguf, p + "attn_v.weight", c.kvDim(), c.dim());
      wo[l] = matrix(gguf, p + "attn_output.weight", c.dim(), c.qDim());
      wGate[l] = matrix(gguf, p + "ffn_gate.weight", c.feedForwardDim(), c.dim());
      wUp[l] = matrix(gguf, p + "ffn_up.weight", c.feedForwardDim(), c.dim());
      wDown[l] = matrix(gguf, p + "ffn_down.weight", c.dim(), c.feedForwardDim());
      bq[l] = optionalVector(gguf, p + "attn_q.bias", c.qDim());
      bk[l] = optionalVector(gguf, p + "attn_k.bias", c.kvDim());
      bv[l] = optionalVector(gguf, p + "attn_v.bias", c.kvDim());
      qNorm[l] = optionalVector(gguf, p + "attn_q_norm.weight", c.headDim());
      kNorm[l] = optionalVector(gguf, p + "attn_k_norm.weight", c.headDim());
      if (c.architecture().equals("qwen3") && (qNorm[l] == null || kNorm[l] == null)) {
        throw new BackendException(BackendException.Code.MODEL_INVALID, gguf.path() + ": qwen3 layer " + l
            + " lacks attn_q_norm.weight or attn_k_norm.weight");
      }
    }
    outputNorm = vector(gguf, "output_norm.weight", c.dim());
    output = gguf.findTensor("output.weight").isPresent()
        ? matrix(gguf, "output.weight", c.vocabSize(), c.dim())
        : tokenEmbedding;
    ropeFrequencyFactors = optionalVector(gguf, "rope_freqs.weight", c.ropeDims() / 2);
    parameterCount = gguf.tensors().stream().mapToLong(TensorInfo::elementCount).sum();
    long perToken = output.byteSize();
    for (int l = 0; l < n; l++) {
      for (WeightMatrix m : new WeightMatrix[] {wq[l], wk[l], wv[l], wo[l], wGate[l], wUp[l], wDown[l]}) {
        perToken += m.byteSize();
      }
    }
    bytesPerToken = perToken;
  }

  static WeightFormat format(TensorInfo t) {
    return switch (t.type()) {
      case F32 -> WeightFormat.F32;
      case F16 -> WeightFormat.F16;
      case BF16 -> WeightFormat.BF16;
      case Q8_0 -> WeightFormat.Q8_0;
      case Q4_0 -> WeightFormat.Q4_0;
      case Q4_K -> WeightFormat.Q4_K;
      case Q5_K -> WeightFormat.Q5_K;
      case Q6_K -> WeightFormat.Q6_K;
      default -> throw new BackendException(BackendException.Code.MODEL_INVALID, "tensor " + t.name() + " has type "
          + t.type() + ", which the java backend does not support (expected one of: "
          + Arrays.toString(WeightFormat.values()) + ")");
    };
  }

  private static WeightMatrix matrix(GgufFile gguf, String name, int rows, int cols) {
    TensorInfo t = tensor(gguf, name);
    long[] shape = t.shape();
    if (shape.length != 2 || shape[0] != cols || shape[1] != rows) {
      throw new BackendException(BackendException.Code.MODEL_INVALID, "tensor " + name + " has shape "
          + Arrays.toString(shape) + " (expected: [" + cols + ", " + rows + "])");
    }
    WeightFormat format = format(t);
    if (cols % format.blockElements() != 0) {
      throw new BackendException(BackendException.Code.MODEL_INVALID, "tensor " + name + " has rows of " + cols
          + " elements, not a whole number of " + t.type() + " blocks");
    }
    return WeightMatrix.of(format, gguf.tensorData(t), rows, cols);
  }

  private static float[] vector(GgufFile gguf, String name, int length) {
    TensorInfo t = tensor(gguf, name);
    if (t.elementCount() != length) {
      throw new BackendException(BackendException.Code.MODEL_INVALID, "tensor " + name + " has "
          + t.elementCount() + " elements (expected: " + length + ")");
    }
    WeightFormat format = format(t);
    float[] out = new float[length];
    WeightMatrix.of(format, gguf.tensorData(t), 1, length).decodeRow(0, out, 0);
    return out;
  }

  private static float[] optionalVector(GgufFile gguf, String name, int length) {
    Optional<TensorInfo> t = gguf.findTensor(name);
    return t.isPresent() ? vector(gguf, name, length) : null;
  }

  private static TensorInfo tensor(GgufFile gguf, String name) {
    return gguf.findTensor(name).orElseThrow(() -> new BackendException(BackendException.Code.MODEL_INVALID,
        gguf.path() + ": missing tensor " + name));
  }
}
