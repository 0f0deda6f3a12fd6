package io.disagg.openai.internal;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.disagg.openai.internal.ParsedRequest.ChatMessage;
import java.time.Clock;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders chat messages into one prompt with the model's {@code tokenizer.chat_template} (a Jinja template from the
 * GGUF metadata) through Jinjava, configured like Hugging Face's renderer ({@code trim_blocks}, {@code lstrip_blocks}).
 *
 * <p>Template context: {@code messages} (list of {@code {role, content}}), {@code add_generation_prompt = true},
 * {@code bos_token} and {@code eos_token} (the configured strings; empty by default because the router already adds
 * BOS when it tokenizes, and {@code ModelDescription} carries only token ids), and the functions
 * {@code raise_exception(message)} (fails the request with a 400 carrying the message) and
 * {@code strftime_now(format)} (Python-style date formats, time from the injected clock).
 *
 * <p>When the model has no template, {@link #FALLBACK_TEMPLATE} is used: plain "Role: content" paragraphs ending in
 * "Assistant:", which base models without special chat tokens continue sensibly.
 *
 * <p>Thread-safe: Jinjava renders concurrently, and the per-render state below is thread-confined.
 */
public final class ChatTemplate {
  public static final String FALLBACK_TEMPLATE = """
      {% for message in messages %}{{ message['role'] | capitalize }}: {{ message['content'] }}

      {% endfor %}{% if add_generation_prompt %}Assistant:{% endif %}""";

  /** Set by {@code raise_exception} during one render on this thread; Jinjava would otherwise swallow the message. */
  private static final ThreadLocal<String> RAISED = new ThreadLocal<>();
  private static final ThreadLocal<Clock> RENDER_CLOCK = new ThreadLocal<>();

  private final Jinjava jinjava;
  private final String source;
  private final String template;
  private final String bosToken;
  private final String eosToken;
  private final Clock clock;

  /**
   * @param template the model's chat template; {@code null} or blank selects {@link #FALLBACK_TEMPLATE}
   */
  public ChatTemplate(String template, String bosToken, String eosToken, Clock clock) {
    this.source = template == null ? "" : template;
    this.template = template == null || template.isBlank() ? FALLBACK_TEMPLATE : template;
    this.bosToken = bosToken;
    this.eosToken = eosToken;
    this.clock = clock;
    this.jinjava = new Jinjava(JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withMaxOutputSize(16L << 20)
        .build());
    jinjava.getGlobalContext().registerFunction(
        new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    jinjava.getGlobalContext().registerFunction(
        new ELFunctionDefinition("", "strftime_now", ChatTemplate.class, "strftimeNow", String.class));
  }

  /** The model's template as given (empty when the fallback is in use). */
  public String source() {
    return source;
  }

  public boolean isFallback() {
    return template.equals(FALLBACK_TEMPLATE);
  }

  /**
   * Renders the prompt, ending with the assistant's generation prompt.
   *
   * @throws ApiException 400 when the template rejects the conversation (via {@code raise_exception}) or fails
   */
  public String render(List<ChatMessage> messages) {
    List<Map<String, Object>> list = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) {
      Map<String, Object> entry = new HashMap<>();
      entry.put("role", m.role());
      entry.put("content", m.content());
      list.add(entry);
    }
    Map<String, Object> context = new HashMap<>();
    context.put("messages", list);
    context.put("add_generation_prompt", true);
    context.put("bos_token", bosToken);
    context.put("eos_token", eosToken);
    RAISED.remove();
    RENDER_CLOCK.set(clock);
    RenderResult result;
    try {
      result = jinjava.renderForResult(template, context);
    } finally {
      RENDER_CLOCK.remove();
    }
    String raised = RAISED.get();
    RAISED.remove();
    if (raised != null) {
      throw new ApiException(ErrorMapper.badRequest(raised, "messages", "invalid_chat_template_input"));
    }
    for (TemplateError error : result.getErrors()) {
      if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
        throw new ApiException(ErrorMapper.badRequest("chat template failed to render: " + error.getMessage(),
            "messages", "invalid_chat_template_input"));
      }
    }
    return result.getOutput();
  }

  /** Jinja-callable; records the message so {@link #render} can fail the request with it. */
  public static String raiseException(String message) {
    RAISED.set(message == null ? "chat template raised an exception" : message);
    throw new IllegalStateException(message);
  }

  /** Jinja-callable {@code strftime_now}, for templates (Llama 3.x) that print today's date. */
  public static String strftimeNow(String pythonFormat) {
    Clock clock = RENDER_CLOCK.get();
    ZonedDateTime now = ZonedDateTime.now(clock == null ? Clock.systemUTC() : clock);
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < pythonFormat.length(); i++) {
      char c = pythonFormat.charAt(i);
      if (c != '%' || i + 1 == pythonFormat.length()) {
        out.append(c);
        continue;
      }
      char d = pythonFormat.charAt(++i);
      String pattern = switch (d) {
        case 'd' -> "dd";
        case 'm' -> "MM";
        case 'Y' -> "yyyy";
        case 'y' -> "yy";
        case 'b' -> "MMM";
        case 'B' -> "MMMM";
        case 'a' -> "EEE";
        case 'A' -> "EEEE";
        case 'H' -> "HH";
        case 'M' -> "mm";
        case 'S' -> "ss";
        default -> null;
      };
      if (pattern == null) {
        out.append(d == '%' ? "%" : "%" + d);
      } else {
        out.append(DateTimeFormatter.ofPattern(pattern, Locale.ROOT).format(now));
      }
    }
    return out.toString();
  }
}
