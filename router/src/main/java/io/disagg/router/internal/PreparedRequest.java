package io.disagg.router.internal;

import io.disagg.openai.PreparedGeneration;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.ServeMode;
import io.disagg.router.RequestFacts;
import java.util.List;

/**
 * A validated, tokenized request: what {@link RequestValidator#prepare} makes, once per request, and what every stage
 * of a generation reads. Immutable.
 *
 * @param request the client's request as received (its seed fixed when it samples without one)
 * @param requestId the client's id or the one assigned
 * @param promptTokenIds the prompt as the model sees it
 * @param maxTokens generation budget, the default applied
 * @param forcedMode the forced serve mode, or {@code SERVE_MODE_UNSPECIFIED}
 * @param validator the validator that made it, for {@link #forSample}
 */
public record PreparedRequest(
    GenerateRequest request, String requestId, List<Integer> promptTokenIds, int maxTokens, ServeMode forcedMode,
    RequestValidator validator) implements PreparedGeneration {

  public PreparedRequest {
    promptTokenIds = List.copyOf(promptTokenIds);
  }

  @Override
  public int promptTokens() {
    return promptTokenIds.size();
  }

  @Override
  public PreparedRequest forSample(String requestId, SamplingParams sampling) {
    try {
      return validator.resample(this, requestId, sampling);
    } catch (io.grpc.StatusException e) {
      throw e.getStatus().asRuntimeException();
    }
  }

  boolean wantsTokenDetails() {
    return request.getLogprobs() || request.getTopLogprobs() > 0;
  }

  RequestFacts facts() {
    return new RequestFacts(requestId, promptTokens(), maxTokens, request.getPriority());
  }
}
