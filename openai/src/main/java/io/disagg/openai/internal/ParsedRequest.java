package io.disagg.openai.internal;

import java.util.List;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} request, before prompts are rendered and
 * counted.
 *
 * @param prompts completion prompts (one choice group each); empty for chat, whose single prompt is rendered from
 *     {@code messages}
 * @param maxTokens the client's limit, or {@code null} for the endpoint's default
 * @param seed the client's seed, or {@code null} when none was given
 * @param topLogprobs alternatives per token; only meaningful when {@code logprobs}
 */
public record ParsedRequest(
    Kind kind,
    String model,
    List<Prompt> prompts,
    List<ChatMessage> messages,
    int n,
    Integer maxTokens,
    float temperature,
    float topP,
    Long seed,
    float presencePenalty,
    float frequencyPenalty,
    List<String> stop,
    boolean logprobs,
    int topLogprobs,
    boolean stream,
    boolean includeUsage,
    boolean echo) {

  public enum Kind { COMPLETION, CHAT }

  /** A completion prompt: text tokenized by the router, or token ids used as given. */
  public sealed interface Prompt {
    record Text(String text) implements Prompt {}

    record Tokens(List<Integer> ids) implements Prompt {}
  }

  /** One chat message with its content already flattened to text. */
  public record ChatMessage(String role, String content) {}
}
