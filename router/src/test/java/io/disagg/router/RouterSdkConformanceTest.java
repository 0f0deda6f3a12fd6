package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.core.JsonValue;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.disagg.openai.NettyLeakDetectorExtension;
import io.disagg.openai.testing.OpenAiSdkConformanceTest;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The OpenAI SDK suite through the real router: HTTP server, router (tokenizer, classifier, retries) and simulated
 * prefill and decode workers over gRPC. With a threshold of 32 tokens the suite's short chat prompts are served
 * colocated and its completion prompt disaggregated, so both paths are covered. The simulated model is deterministic,
 * so the exact-text tests below know what the workers generate.
 */
@ExtendWith(NettyLeakDetectorExtension.class)
class RouterSdkConformanceTest extends OpenAiSdkConformanceTest {
  private static final String KEY = "sk-router-test";
  private static Cluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = new Cluster(1, 2, b -> b.disaggregateThreshold(32), List.of(KEY), true);
  }

  @AfterAll
  static void stopCluster() {
    cluster.close();
  }

  @Override
  protected String baseUrl() {
    return cluster.http.baseUrl();
  }

  @Override
  protected String apiKey() {
    return KEY;
  }

  @Override
  protected boolean keysRequired() {
    return true;
  }

  @Override
  protected String model() {
    return "simulated";
  }

  @Test
  void completion_longPrompt_isTheSimulatedModelsTextServedDisaggregated() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(5).temperature(0.0).build());

    assertThat(completion.choices().getFirst().text())
        .isEqualTo(SimulatedModel.text(SimulatedModel.promptIds(prompt()), 5));
    assertThat(completion.usage().orElseThrow().promptTokens()).isEqualTo(SimulatedModel.promptIds(prompt()).size());
    assertThat(servedBy(completion)).containsEntry("mode", "disaggregated").containsEntry("prefill_worker", cluster.prefill.getFirst().address());
  }

  @Test
  void completion_shortPrompt_servedColocated() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("short").maxTokens(2).build());

    assertThat(completion.choices().getFirst().text()).isEqualTo(SimulatedModel.text(SimulatedModel.promptIds("short"),
        2));
    assertThat(servedBy(completion)).containsEntry("mode", "colocated")
        .containsEntry("reason", ServeReasons.PROMPT_BELOW_THRESHOLD);
  }

  @Test
  void completion_logprobs_tokenTextsFilledByTheRouterConcatenateToTheText() {
    // The simulated workers send token ids only; every text below comes from the router's tokenizer.
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(4).logprobs(3).temperature(0.0).build()).validate();

    var choice = completion.choices().getFirst();
    var logprobs = choice.logprobs().orElseThrow();
    List<String> tokens = logprobs.tokens().orElseThrow();
    assertThat(tokens).hasSize(4).allSatisfy(t -> assertThat(t).hasSize(1));
    assertThat(String.join("", tokens)).isEqualTo(choice.text());
    assertThat(logprobs.textOffset().orElseThrow()).containsExactly(0L, 1L, 2L, 3L);
    assertThat(logprobs.topLogprobs().orElseThrow()).hasSize(4).allSatisfy(top -> {
      assertThat(top._additionalProperties()).hasSize(3);
      assertThat(top._additionalProperties().keySet()).allSatisfy(k -> assertThat(k).matches("[a-z]"));
    });
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> servedBy(Completion completion) {
    JsonValue ext = completion._additionalProperties().get("disagg");
    assertThat(ext).as("disagg extension").isNotNull();
    Map<String, Object> choice0 = (Map<String, Object>) ((List<Object>) ext.convert(Map.class).get("choices")).get(0);
    return (Map<String, Object>) choice0.get("served_by");
  }
}
