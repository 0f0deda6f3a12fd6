package io.disagg.router;

import java.util.Objects;

/**
 * What the router knows about a request once it is validated and tokenized.
 *
 * @param requestId the request id propagated to every worker
 * @param promptTokens prompt length in tokens (BOS included)
 * @param maxTokens generation budget after applying the default
 * @param priority scheduling priority as given by the client
 */
public record RequestFacts(String requestId, int promptTokens, int maxTokens, int priority) {

  public RequestFacts {
    Objects.requireNonNull(requestId, "requestId");
    if (promptTokens <= 0) {
      throw new IllegalArgumentException("promptTokens: " + promptTokens + " (expected: > 0)");
    }
    if (maxTokens <= 0) {
      throw new IllegalArgumentException("maxTokens: " + maxTokens + " (expected: > 0)");
    }
  }
}
