package io.disagg.gguf;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.gguf.internal.BpeTokenizer;
import io.disagg.gguf.internal.SpmTokenizer;
import io.disagg.gguf.internal.Vocab;
import java.util.OptionalLong;

/**
 * Builds the tokenizer a GGUF file's {@code tokenizer.ggml.*} metadata describes.
 *
 * <ul>
 *   <li>{@code tokenizer.ggml.model = "llama"}: SentencePiece with scores and byte fallback. BOS is added by default;
 *       a dummy-prefix space is added unless {@code tokenizer.ggml.add_space_prefix} is false. Decoding drops the
 *       leading space of the first piece after the start of text ({@code previous == -1}) or after a literal
 *       special token such as BOS, so {@code decode(encode(s))} is {@code s}.</li>
 *   <li>{@code "gpt2"}: byte-level BPE with {@code tokenizer.ggml.merges}; pre-tokenizer from
 *       {@code tokenizer.ggml.pre} (GPT-2 by default, {@code llama3}/{@code llama-bpe}, {@code qwen2}); BOS not added
 *       by default.</li>
 * </ul>
 *
 * <p>Control and user-defined tokens written literally in text (e.g. {@code <|im_start|>}) encode to their single
 * id. End of generation: EOS, {@code tokenizer.ggml.eot_token_id}/{@code eom_token_id}, and non-normal tokens such as
 * {@code <|im_end|>}, {@code <|eot_id|>}, {@code <|end|>}, {@code <|endoftext|>}.
 */
public final class GgufTokenizers {
  private GgufTokenizers() {
  }

  /**
   * @throws GgufException if the model type is missing or unsupported, or the vocabulary arrays are inconsistent
   */
  public static Tokenizer fromGguf(GgufFile file) {
    String model = file.getString("tokenizer.ggml.model");
    boolean spm = switch (model) {
      case "llama" -> true;
      case "gpt2" -> false;
      default -> throw new GgufException("%s: tokenizer.ggml.model \"%s\" is not supported (supported: llama, gpt2)"
          .formatted(file.path(), model));
    };
    String[] pieces = file.findStringArray("tokenizer.ggml.tokens").orElseThrow(
        () -> new GgufException("missing metadata key tokenizer.ggml.tokens in " + file.path()));
    if (pieces.length == 0) {
      throw new GgufException("%s: tokenizer.ggml.tokens is empty".formatted(file.path()));
    }
    int n = pieces.length;
    int[] types = file.findIntArray("tokenizer.ggml.token_type").orElse(null);
    if (types == null) {
      types = new int[n];
      for (int i = 0; i < n; i++) {
        types[i] = spm && pieces[i].matches("<0x[0-9A-Fa-f]{2}>") ? Vocab.BYTE : Vocab.NORMAL;
      }
    }
    checkLength(file, "tokenizer.ggml.token_type", types.length, n);
    int bos = tokenId(file, "tokenizer.ggml.bos_token_id", spm && n > 1 ? 1 : -1, n);
    int eos = tokenId(file, "tokenizer.ggml.eos_token_id", spm && n > 2 ? 2 : -1, n);
    int unk = tokenId(file, "tokenizer.ggml.unknown_token_id", spm ? 0 : -1, n);
    boolean addBos = file.metadata().get("tokenizer.ggml.add_bos_token") instanceof Boolean b ? b : spm;
    int[] extraEog = {
        tokenId(file, "tokenizer.ggml.eot_token_id", -1, n),
        tokenId(file, "tokenizer.ggml.eom_token_id", -1, n)};
    Vocab vocab = new Vocab(pieces, types, bos, eos, unk, addBos, extraEog);
    if (spm) {
      float[] scores = file.findFloatArray("tokenizer.ggml.scores").orElse(new float[n]);
      checkLength(file, "tokenizer.ggml.scores", scores.length, n);
      boolean addSpacePrefix =
          !(file.metadata().get("tokenizer.ggml.add_space_prefix") instanceof Boolean b) || b;
      return new SpmTokenizer(vocab, scores, addSpacePrefix);
    }
    String[] merges = file.findStringArray("tokenizer.ggml.merges").orElseThrow(
        () -> new GgufException("missing metadata key tokenizer.ggml.merges in " + file.path()));
    return new BpeTokenizer(vocab, merges, file.findString("tokenizer.ggml.pre").orElse(null));
  }

  private static void checkLength(GgufFile file, String key, int length, int tokens) {
    if (length != tokens) {
      throw new GgufException("%s: %s has %d entries but tokenizer.ggml.tokens has %d"
          .formatted(file.path(), key, length, tokens));
    }
  }

  /** A token id, or {@code fallback} when absent; out-of-vocabulary values (e.g. 0xFFFFFFFF for "none") are -1. */
  private static int tokenId(GgufFile file, String key, int fallback, int vocabSize) {
    OptionalLong value = file.findLong(key);
    if (value.isEmpty()) {
      return fallback;
    }
    long id = value.getAsLong();
    return id >= 0 && id < vocabSize ? (int) id : -1;
  }
}
