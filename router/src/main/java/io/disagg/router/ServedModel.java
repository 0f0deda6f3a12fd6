package io.disagg.router;

import io.disagg.backend.spi.Tokenizer;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The model the cluster serves, as the router needs it: the tokenizer (prompts are tokenized once, here) and the
 * description returned by {@code GetModel}.
 *
 * @param name model name
 * @param architecture e.g. {@code llama}
 * @param contextLength most positions a sequence may have; prompt plus generation must fit
 * @param modelSha256 lower-case hex sha256 of the model file; every worker's fingerprint must start with it
 * @param chatTemplate the model's Jinja chat template, if any
 * @param tokenizer the model's tokenizer
 */
public record ServedModel(
    String name,
    String architecture,
    int contextLength,
    String modelSha256,
    Optional<String> chatTemplate,
    Tokenizer tokenizer) {
  private static final Pattern HEX64 = Pattern.compile("[0-9a-f]{64}");

  public ServedModel {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(architecture, "architecture");
    Objects.requireNonNull(modelSha256, "modelSha256");
    Objects.requireNonNull(chatTemplate, "chatTemplate");
    Objects.requireNonNull(tokenizer, "tokenizer");
    if (contextLength <= 0) {
      throw new IllegalArgumentException("contextLength: %s (expected: > 0)".formatted(contextLength));
    }
    modelSha256 = modelSha256.toLowerCase(Locale.ROOT);
    if (!HEX64.matcher(modelSha256).matches()) {
      throw new IllegalArgumentException("modelSha256: %s (expected: 64 hex characters)".formatted(modelSha256));
    }
  }
}
