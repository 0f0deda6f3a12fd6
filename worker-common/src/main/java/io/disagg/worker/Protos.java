package io.disagg.worker;

import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.TokenLogprob;
import io.disagg.proto.v1.GeneratedToken;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.List;
import java.util.random.RandomGenerator;

/** Conversions between the wire types and the SPI, validating as they go (INVALID_ARGUMENT, OUT_OF_RANGE). */
public final class Protos {
  private Protos() {}

  /**
   * The SPI sampling parameters for a request. Without a seed, one is drawn from {@code random}: such a request is
   * not reproducible, as the API documents.
   */
  public static SamplingParams sampling(
      io.disagg.proto.v1.SamplingParams proto, boolean logprobs, int topLogprobs, RandomGenerator random) {
    try {
      float topP = proto.getTopP() == 0f ? 1f : proto.getTopP();
      long seed = proto.getHasSeed() ? proto.getSeed() : random.nextLong();
      return new SamplingParams(proto.getTemperature(), proto.getTopK(), topP, seed, proto.getPresencePenalty(),
          proto.getFrequencyPenalty(), topLogprobs, logprobs);
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription("sampling: " + e.getMessage()).asRuntimeException();
    }
  }

  /** Checks prompt token ids against the vocabulary and context; returns them as ints. */
  public static int[] promptTokens(List<Integer> ids, ModelInfo model) {
    if (ids.isEmpty()) {
      throw invalid("prompt_token_ids: empty (expected: at least one token)");
    }
    if (ids.size() > model.contextLength()) {
      throw Status.OUT_OF_RANGE
          .withDescription("prompt_token_ids: " + ids.size() + " tokens (expected: <= context length "
              + model.contextLength() + ")")
          .asRuntimeException();
    }
    int[] tokens = new int[ids.size()];
    for (int i = 0; i < tokens.length; i++) {
      long id = Integer.toUnsignedLong(ids.get(i));
      if (id >= model.vocabSize()) {
        throw invalid("prompt_token_ids[" + i + "]: " + id + " (expected: < vocab size " + model.vocabSize() + ")");
      }
      tokens[i] = (int) id;
    }
    return tokens;
  }

  /**
   * The wire form of a sampled token. Texts are left empty: a token's text depends on the token before it (a
   * SentencePiece piece loses its leading space after BOS), which the router knows for every token it forwards, so
   * the router renders them.
   */
  public static GeneratedToken generatedToken(SampledToken token) {
    GeneratedToken.Builder b = GeneratedToken.newBuilder().setTokenId(token.tokenId());
    if (!Float.isNaN(token.logprob())) {
      b.setLogprob(token.logprob());
    }
    for (TokenLogprob alt : token.top()) {
      b.addTop(io.disagg.proto.v1.TokenLogprob.newBuilder()
          .setTokenId(alt.tokenId())
          .setLogprob(alt.logprob()));
    }
    return b.build();
  }

  public static SampledToken sampledToken(GeneratedToken token) {
    return new SampledToken(token.getTokenId(), token.getLogprob(), token.getTopList().stream()
        .map(t -> new TokenLogprob(t.getTokenId(), t.getLogprob()))
        .toList());
  }

  public static StatusRuntimeException invalid(String description) {
    return Status.INVALID_ARGUMENT.withDescription(description).asRuntimeException();
  }
}
