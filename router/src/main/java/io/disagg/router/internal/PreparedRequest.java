package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ServeMode;
import io.disagg.router.RequestFacts;
import java.util.List;

/**
 * A validated, tokenized request.
 *
 * @param request the client's request as received
 * @param requestId the client's id or the one assigned
 * @param promptTokenIds the prompt as the model sees it
 * @param maxTokens generation budget, the default applied
 * @param forcedMode the forced serve mode, or {@code SERVE_MODE_UNSPECIFIED}
 */
record PreparedRequest(
    GenerateRequest request, String requestId, List<Integer> promptTokenIds, int maxTokens, ServeMode forcedMode) {

  PreparedRequest {
    promptTokenIds = List.copyOf(promptTokenIds);
  }

  int promptTokens() {
    return promptTokenIds.size();
  }

  boolean wantsTokenDetails() {
    return request.getLogprobs() || request.getTopLogprobs() > 0;
  }

  RequestFacts facts() {
    return new RequestFacts(requestId, promptTokens(), maxTokens, request.getPriority());
  }
}
