package io.disagg.openai.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.disagg.openai.internal.ParsedRequest.ChatMessage;
import io.disagg.openai.internal.ParsedRequest.Kind;
import io.disagg.openai.internal.ParsedRequest.Prompt;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Parses and validates request bodies the way OpenAI does: wrong types and out-of-range values are a 400 that names the
 * parameter; JSON {@code null} means "not given"; unknown fields are ignored. Parameters Disagg cannot honour
 * ({@code suffix}, {@code logit_bias}, {@code tools}, structured {@code response_format}, {@code best_of} other than
 * {@code n}) are rejected rather than silently ignored, because ignoring them would return wrong answers.
 */
public final class RequestParser {
  /** Upper bound on prompts × n in one request; keeps one HTTP request from monopolising the cluster. */
  public static final int MAX_CHOICES = 128;
  /** Same limit as {@code GenerateRequest.top_logprobs}. */
  public static final int MAX_TOP_LOGPROBS = 20;
  private static final int MAX_STOP = 4;
  private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

  private final ObjectMapper json;

  public RequestParser(ObjectMapper json) {
    this.json = json;
  }

  public ParsedRequest parseCompletion(byte[] body) {
    JsonNode root = readObject(body);
    String model = requiredString(root, "model");
    List<Prompt> prompts = prompts(root.get("prompt"));
    rejectPresent(root, "suffix", "suffix is not supported");
    rejectLogitBias(root);
    int n = optInt(root, "n", 1, MAX_CHOICES, 1);
    JsonNode bestOf = root.get("best_of");
    if (present(bestOf) && (!bestOf.isIntegralNumber() || bestOf.asInt() != n)) {
      throw ErrorMapper.invalid("best_of", "best_of other than n is not supported");
    }
    checkChoiceCount(prompts.size(), n);
    Integer maxTokens = optInteger(root, "max_tokens", 1, Integer.MAX_VALUE);
    JsonNode logprobsNode = root.get("logprobs");
    boolean logprobs = present(logprobsNode);
    int topLogprobs = logprobs ? optInt(root, "logprobs", 0, MAX_TOP_LOGPROBS, 0) : 0;
    boolean echo = optBool(root, "echo", false);
    if (echo && prompts.stream().anyMatch(p -> p instanceof Prompt.Tokens)) {
      throw ErrorMapper.invalid("echo", "echo is supported for text prompts only");
    }
    if (echo && logprobs) {
      throw ErrorMapper.invalid("echo", "echo together with logprobs is not supported");
    }
    return common(root, Kind.COMPLETION, model, prompts, List.of(), n, maxTokens, logprobs, topLogprobs, echo);
  }

  public ParsedRequest parseChat(byte[] body) {
    JsonNode root = readObject(body);
    String model = requiredString(root, "model");
    List<ChatMessage> messages = messages(root.get("messages"));
    rejectLogitBias(root);
    JsonNode tools = root.get("tools");
    if (present(tools) && !(tools.isArray() && tools.isEmpty())) {
      throw ErrorMapper.invalid("tools", "tools are not supported");
    }
    JsonNode format = root.get("response_format");
    if (present(format)) {
      if (!format.isObject() || !"text".equals(format.path("type").asText())) {
        throw ErrorMapper.invalid("response_format", "only response_format {\"type\": \"text\"} is supported");
      }
    }
    int n = optInt(root, "n", 1, MAX_CHOICES, 1);
    Integer maxTokens = optInteger(root, "max_completion_tokens", 1, Integer.MAX_VALUE);
    if (maxTokens == null) {
      maxTokens = optInteger(root, "max_tokens", 1, Integer.MAX_VALUE);
    }
    boolean logprobs = optBool(root, "logprobs", false);
    Integer top = optInteger(root, "top_logprobs", 0, MAX_TOP_LOGPROBS);
    if (top != null && !logprobs) {
      throw ErrorMapper.invalid("top_logprobs", "top_logprobs requires logprobs to be true");
    }
    return common(root, Kind.CHAT, model, List.of(), messages, n, maxTokens, logprobs, top == null ? 0 : top, false);
  }

  private ParsedRequest common(JsonNode root, Kind kind, String model, List<Prompt> prompts,
                               List<ChatMessage> messages, int n, Integer maxTokens, boolean logprobs,
                               int topLogprobs, boolean echo) {
    float temperature = (float) optDouble(root, "temperature", 0, 2, 1);
    float topP = (float) optDouble(root, "top_p", 0, 1, 1);
    float presence = (float) optDouble(root, "presence_penalty", -2, 2, 0);
    float frequency = (float) optDouble(root, "frequency_penalty", -2, 2, 0);
    Long seed = null;
    JsonNode seedNode = root.get("seed");
    if (present(seedNode)) {
      if (!seedNode.isIntegralNumber() || !seedNode.canConvertToLong()) {
        throw ErrorMapper.invalid("seed", "seed must be an integer");
      }
      seed = seedNode.asLong();
    }
    List<String> stop = stop(root.get("stop"));
    boolean stream = optBool(root, "stream", false);
    boolean includeUsage = false;
    JsonNode options = root.get("stream_options");
    if (present(options)) {
      if (!stream) {
        throw ErrorMapper.invalid("stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.");
      }
      if (!options.isObject()) {
        throw ErrorMapper.invalid("stream_options", "stream_options must be an object");
      }
      includeUsage = optBool(options, "include_usage", "stream_options.include_usage", false);
    }
    JsonNode user = root.get("user");
    if (present(user) && !user.isTextual()) {
      throw ErrorMapper.invalid("user", "user must be a string");
    }
    return new ParsedRequest(kind, model, prompts, messages, n, maxTokens, temperature, topP, seed, presence,
        frequency, stop, logprobs, topLogprobs, stream, includeUsage, echo);
  }

  private JsonNode readObject(byte[] body) {
    JsonNode root;
    try {
      root = json.readTree(body);
    } catch (JacksonException e) {
      throw new ApiException(ErrorMapper.badRequest(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
              + "library correctly. The OpenAI API expects a JSON payload.)", null, "invalid_json"));
    } catch (java.io.IOException e) {
      throw new ApiException(ErrorMapper.badRequest("could not read the request body", null, "invalid_json"));
    }
    if (root == null || !root.isObject()) {
      throw new ApiException(ErrorMapper.badRequest("The request body must be a JSON object.", null, "invalid_json"));
    }
    return root;
  }

  private static List<Prompt> prompts(JsonNode node) {
    if (!present(node)) {
      throw ErrorMapper.invalid("prompt", "you must provide a prompt parameter");
    }
    if (node.isTextual()) {
      return List.of(new Prompt.Text(node.asText()));
    }
    if (!node.isArray() || node.isEmpty()) {
      throw ErrorMapper.invalid("prompt",
          "prompt must be a string, an array of strings, an array of token ids or an array of token-id arrays");
    }
    JsonNode first = node.get(0);
    List<Prompt> prompts = new ArrayList<>();
    if (first.isIntegralNumber()) {
      prompts.add(new Prompt.Tokens(tokenIds(node, "prompt")));
      return prompts;
    }
    for (int i = 0; i < node.size(); i++) {
      JsonNode element = node.get(i);
      if (first.isTextual() && element.isTextual()) {
        prompts.add(new Prompt.Text(element.asText()));
      } else if (first.isArray() && element.isArray()) {
        prompts.add(new Prompt.Tokens(tokenIds(element, "prompt[" + i + "]")));
      } else {
        throw ErrorMapper.invalid("prompt", "prompt[" + i + "] does not match the type of prompt[0]");
      }
    }
    return prompts;
  }

  private static List<Integer> tokenIds(JsonNode array, String param) {
    if (array.isEmpty()) {
      throw ErrorMapper.invalid("prompt", param + " must not be empty");
    }
    List<Integer> ids = new ArrayList<>(array.size());
    for (JsonNode id : array) {
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.asInt() < 0) {
        throw ErrorMapper.invalid("prompt", param + " must contain only non-negative integer token ids");
      }
      ids.add(id.asInt());
    }
    return ids;
  }

  private static List<ChatMessage> messages(JsonNode node) {
    if (!present(node)) {
      throw ErrorMapper.invalid("messages", "you must provide a messages parameter");
    }
    if (!node.isArray() || node.isEmpty()) {
      throw ErrorMapper.invalid("messages", "messages must be a non-empty array");
    }
    List<ChatMessage> messages = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      String param = "messages[" + i + "]";
      JsonNode message = node.get(i);
      if (!message.isObject()) {
        throw ErrorMapper.invalid(param, param + " must be an object");
      }
      JsonNode roleNode = message.get("role");
      if (roleNode == null || !roleNode.isTextual() || !ROLES.contains(roleNode.asText())) {
        throw ErrorMapper.invalid(param + ".role",
            param + ".role must be one of 'system', 'developer', 'user', 'assistant'");
      }
      String role = roleNode.asText();
      JsonNode content = message.get("content");
      String text;
      if (!present(content)) {
        if (!role.equals("assistant")) {
          throw ErrorMapper.invalid(param + ".content", param + ".content is required for role " + role);
        }
        text = "";
      } else if (content.isTextual()) {
        text = content.asText();
      } else if (content.isArray()) {
        StringBuilder joined = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
          JsonNode part = content.get(j);
          String partParam = param + ".content[" + j + "]";
          if (!part.isObject() || !"text".equals(part.path("type").asText())) {
            throw ErrorMapper.invalid(partParam + ".type", "only content parts of type 'text' are supported");
          }
          JsonNode partText = part.get("text");
          if (partText == null || !partText.isTextual()) {
            throw ErrorMapper.invalid(partParam + ".text", partParam + ".text must be a string");
          }
          joined.append(partText.asText());
        }
        text = joined.toString();
      } else {
        throw ErrorMapper.invalid(param + ".content", param + ".content must be a string or an array of text parts");
      }
      // "developer" is OpenAI's newer name for "system"; chat templates only know the latter.
      messages.add(new ChatMessage(role.equals("developer") ? "system" : role, text));
    }
    return messages;
  }

  private static List<String> stop(JsonNode node) {
    if (!present(node)) {
      return List.of();
    }
    if (node.isTextual()) {
      return node.asText().isEmpty() ? List.of() : List.of(node.asText());
    }
    if (!node.isArray() || node.size() > MAX_STOP) {
      throw ErrorMapper.invalid("stop", "stop must be a string or an array of up to " + MAX_STOP + " strings");
    }
    List<String> stop = new ArrayList<>(node.size());
    for (JsonNode s : node) {
      if (!s.isTextual()) {
        throw ErrorMapper.invalid("stop", "stop must be a string or an array of up to " + MAX_STOP + " strings");
      }
      if (!s.asText().isEmpty()) {
        stop.add(s.asText());
      }
    }
    return stop;
  }

  private static void checkChoiceCount(int prompts, int n) {
    if ((long) prompts * n > MAX_CHOICES) {
      throw ErrorMapper.invalid("n", "number of prompts × n is " + ((long) prompts * n) + " (expected: <= "
          + MAX_CHOICES + ")");
    }
  }

  private static void rejectPresent(JsonNode root, String name, String message) {
    JsonNode node = root.get(name);
    if (present(node) && !(node.isTextual() && node.asText().isEmpty())) {
      throw ErrorMapper.invalid(name, message);
    }
  }

  private static void rejectLogitBias(JsonNode root) {
    JsonNode node = root.get("logit_bias");
    if (present(node) && !(node.isObject() && node.isEmpty())) {
      throw ErrorMapper.invalid("logit_bias", "logit_bias is not supported");
    }
  }

  private static boolean present(JsonNode node) {
    return node != null && !node.isNull();
  }

  private static String requiredString(JsonNode root, String name) {
    JsonNode node = root.get(name);
    if (!present(node)) {
      throw ErrorMapper.invalid(name, "you must provide a " + name + " parameter");
    }
    if (!node.isTextual()) {
      throw ErrorMapper.invalid(name, name + " must be a string");
    }
    return node.asText();
  }

  private static boolean optBool(JsonNode root, String name, boolean fallback) {
    return optBool(root, name, name, fallback);
  }

  private static boolean optBool(JsonNode root, String name, String param, boolean fallback) {
    JsonNode node = root.get(name);
    if (!present(node)) {
      return fallback;
    }
    if (!node.isBoolean()) {
      throw ErrorMapper.invalid(param, param + " must be a boolean");
    }
    return node.asBoolean();
  }

  private static int optInt(JsonNode root, String name, int min, int max, int fallback) {
    Integer value = optInteger(root, name, min, max);
    return value == null ? fallback : value;
  }

  private static Integer optInteger(JsonNode root, String name, int min, int max) {
    JsonNode node = root.get(name);
    if (!present(node)) {
      return null;
    }
    if (!node.isIntegralNumber() || !node.canConvertToInt()) {
      throw ErrorMapper.invalid(name, name + " must be an integer");
    }
    int value = node.asInt();
    if (value < min || value > max) {
      throw ErrorMapper.invalid(name, name + ": " + value + " (expected: " + range(min, max) + ")");
    }
    return value;
  }

  private static double optDouble(JsonNode root, String name, double min, double max, double fallback) {
    JsonNode node = root.get(name);
    if (!present(node)) {
      return fallback;
    }
    if (!node.isNumber()) {
      throw ErrorMapper.invalid(name, name + " must be a number");
    }
    double value = node.asDouble();
    if (!(value >= min && value <= max)) {
      throw ErrorMapper.invalid(name, name + ": " + node.asText() + " (expected: in [" + fmt(min) + ", " + fmt(max)
          + "])");
    }
    return value;
  }

  private static String range(int min, int max) {
    return max == Integer.MAX_VALUE ? ">= " + min : "in [" + min + ", " + max + "]";
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }
}
