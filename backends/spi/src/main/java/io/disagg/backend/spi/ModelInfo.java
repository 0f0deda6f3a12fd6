package io.disagg.backend.spi;

import java.util.Objects;
import java.util.Optional;

/**
 * What a loaded model is.
 *
 * @param name model name from its metadata
 * @param architecture e.g. {@code llama}, {@code qwen2}
 * @param layers transformer blocks
 * @param embeddingDim hidden size
 * @param heads query heads
 * @param kvHeads key/value heads (fewer than heads with grouped-query attention)
 * @param headDim elements per head
 * @param feedForwardDim hidden size of the MLP
 * @param vocabSize tokens in the vocabulary
 * @param contextLength most positions a sequence may have
 * @param parameterCount number of weights
 * @param weightBytes bytes of weights read per decode step (what bounds decode speed)
 * @param fingerprint model file sha256 plus KV layout
 * @param chatTemplate the model's Jinja chat template, if it ships one
 */
public record ModelInfo(
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
    long weightBytes,
    ModelFingerprint fingerprint,
    Optional<String> chatTemplate) {

  public ModelInfo {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(architecture, "architecture");
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(chatTemplate, "chatTemplate");
  }

  public KvLayout kvLayout() {
    return fingerprint.layout();
  }
}
