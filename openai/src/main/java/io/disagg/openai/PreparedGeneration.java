package io.disagg.openai;

import io.disagg.proto.v1.SamplingParams;

/**
 * A request the service has validated and tokenized, ready to start without further blocking work. Made by
 * {@link InferenceService#prepare}; only the service that made it may start it. Immutable and thread-safe.
 */
public interface PreparedGeneration {

  /** The id the generation will carry (the client's, or one the service assigned). */
  String requestId();

  /** Prompt length in tokens, as the model sees it (BOS included). */
  int promptTokens();

  /** The generation budget with the service's default applied and the context length respected. */
  int maxTokens();

  /**
   * The same prompt as another sample: a new request id and sampling parameters, without tokenizing again (the
   * {@code n} of the OpenAI API fans one prompt out this way).
   *
   * @throws io.grpc.StatusRuntimeException {@code INVALID_ARGUMENT} when {@code sampling} is invalid
   */
  PreparedGeneration forSample(String requestId, SamplingParams sampling);
}
