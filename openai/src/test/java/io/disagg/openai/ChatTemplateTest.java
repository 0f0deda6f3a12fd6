package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.openai.internal.ApiException;
import io.disagg.openai.internal.ChatTemplate;
import io.disagg.openai.internal.ParsedRequest.ChatMessage;
import java.time.Clock;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatTemplateTest {
  private static final Clock CLOCK = Clock.fixed(SimulatedServer.NOW, ZoneOffset.UTC);
  /** Llama-2 chat template (as in its GGUF), which enforces alternation through raise_exception. */
  private static final String LLAMA2 = "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
      + "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
      + "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
      + "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
      + "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
      + "{% if loop.index0 == 0 and system_message != false %}"
      + "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
      + "{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
      + "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
      + "{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

  @Test
  void render_chatMl_matchesHuggingFaceOutput() {
    ChatTemplate template = new ChatTemplate(SimulatedServer.CHATML, "", "", CLOCK);
    String out = template.render(List.of(new ChatMessage("system", "S"), new ChatMessage("user", "U")));
    assertThat(out).isEqualTo("<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
        + "<|im_start|>assistant\n");
  }

  @Test
  void render_llama2_usesSystemBlockAndConfiguredSpecialTokens() {
    // strip() trims the joined system block and message, so the user's leading blank survives, as in Python.
    ChatTemplate template = new ChatTemplate(LLAMA2, "<s>", "</s>", CLOCK);
    String out = template.render(List.of(new ChatMessage("system", "Be nice."), new ChatMessage("user", " Hi "),
        new ChatMessage("assistant", "Hello"), new ChatMessage("user", "Bye")));
    assertThat(out).isEqualTo("<s>[INST] <<SYS>>\nBe nice.\n<</SYS>>\n\n Hi [/INST] Hello </s><s>[INST] Bye [/INST]");
  }

  @Test
  void render_templateRaisesException_becomes400WithItsMessage() {
    ChatTemplate template = new ChatTemplate(LLAMA2, "", "", CLOCK);
    assertThatThrownBy(() -> template.render(List.of(new ChatMessage("user", "a"), new ChatMessage("user", "b"))))
        .isInstanceOfSatisfying(ApiException.class, e -> {
          assertThat(e.error().status().code()).isEqualTo(400);
          assertThat(e.error().message()).isEqualTo("Conversation roles must alternate user/assistant/user/assistant/...");
          assertThat(e.error().param()).isEqualTo("messages");
        });
  }

  @Test
  void render_noModelTemplate_usesDocumentedFallback() {
    ChatTemplate template = new ChatTemplate("", "", "", CLOCK);
    assertThat(template.isFallback()).isTrue();
    String out = template.render(List.of(new ChatMessage("system", "S"), new ChatMessage("user", "U")));
    assertThat(out).isEqualTo("System: S\n\nUser: U\n\nAssistant:");
  }

  @Test
  void render_strftimeNow_usesInjectedClock() {
    ChatTemplate template = new ChatTemplate("Today is {{ strftime_now('%d %b %Y') }}.", "", "", CLOCK);
    assertThat(template.render(List.of(new ChatMessage("user", "x")))).isEqualTo("Today is 01 Jun 2025.");
  }
}
