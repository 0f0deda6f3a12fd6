package io.disagg.openai.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.models.Model;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * What every OpenAI client must be able to rely on, checked with the official OpenAI Java SDK as the client against
 * whatever serves {@link #baseUrl()}: the simulator here, the real router in the router's tests. Only properties that
 * hold for any model are asserted (shapes, counts, finish reasons, reproducibility, typed errors); exact texts are for
 * subclasses that know their backend.
 */
public abstract class OpenAiSdkConformanceTest {
  protected OpenAIClient client;

  /** Base URL including {@code /v1}, e.g. {@code http://127.0.0.1:8000/v1}. */
  protected abstract String baseUrl();

  /** A valid key, or any string when the server is open. */
  protected abstract String apiKey();

  /** Whether the server checks keys, so that a wrong key must be rejected. */
  protected abstract boolean keysRequired();

  /** The model name the server serves. */
  protected abstract String model();

  /** A prompt comfortably shorter than the context. */
  protected String prompt() {
    return "The quick brown fox jumps over the lazy dog";
  }

  @BeforeEach
  void openClient() {
    client = newClient(apiKey());
  }

  @AfterEach
  void closeClient() {
    client.close();
  }

  protected OpenAIClient newClient(String key) {
    // No retries: a 429/503 must surface as the typed exception under test, not be retried away.
    return OpenAIOkHttpClient.builder().baseUrl(baseUrl()).apiKey(key).maxRetries(0)
        .timeout(Duration.ofSeconds(30)).build();
  }

  @Test
  void models_list_containsServedModel() {
    List<Model> models = client.models().list().data();
    assertThat(models).extracting(Model::id).containsExactly(model());
    assertThat(client.models().retrieve(model()).id()).isEqualTo(model());
  }

  @Test
  void completion_maxTokensReached_finishesWithLengthAndCountsTokens() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(5).temperature(0.0).build()).validate();

    assertThat(completion.id()).startsWith("cmpl-");
    assertThat(completion.model()).isEqualTo(model());
    assertThat(completion.choices()).hasSize(1);
    CompletionChoice choice = completion.choices().getFirst();
    assertThat(choice.index()).isZero();
    assertThat(choice.text()).isNotEmpty();
    assertThat(completion.usage()).isPresent();
    var usage = completion.usage().orElseThrow();
    if (choice.finishReason() == CompletionChoice.FinishReason.LENGTH) {
      assertThat(usage.completionTokens()).isEqualTo(5);
    }
    assertThat(usage.promptTokens()).isPositive();
    assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
  }

  @Test
  void completion_streamed_concatenatesToTheNonStreamedGreedyText() {
    CompletionCreateParams params = CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(6).temperature(0.0)
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    String whole = client.completions().create(params.toBuilder().streamOptions(
        java.util.Optional.empty()).build()).choices().getFirst().text();

    StringBuilder streamed = new StringBuilder();
    List<Completion> chunks = new ArrayList<>();
    try (StreamResponse<Completion> stream = client.completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> {
        chunks.add(chunk);
        chunk.choices().forEach(c -> streamed.append(c.text()));
      });
    }
    assertThat(streamed.toString()).isEqualTo(whole);
    Completion last = chunks.getLast();
    assertThat(last.choices()).isEmpty();
    assertThat(last.usage().orElseThrow().completionTokens()).isPositive();
  }

  @Test
  void chat_nonStreamed_returnsAssistantMessage() {
    ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addSystemMessage("You are terse.").addUserMessage("Say hello.")
        .maxCompletionTokens(8).temperature(0.0).build()).validate();

    assertThat(chat.id()).startsWith("chatcmpl-");
    assertThat(chat.choices()).hasSize(1);
    ChatCompletion.Choice choice = chat.choices().getFirst();
    assertThat(choice.message().content()).isPresent();
    assertThat(choice.finishReason()).isIn(ChatCompletion.Choice.FinishReason.STOP,
        ChatCompletion.Choice.FinishReason.LENGTH);
    var usage = chat.usage().orElseThrow();
    assertThat(usage.completionTokens()).isBetween(1L, 8L);
    assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
  }

  @Test
  void chat_streamWithUsage_roleDeltaFirstThenContentThenUsageChunk() {
    ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
        .model(model()).addUserMessage("Count to three.").maxCompletionTokens(6).temperature(0.0)
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
    String whole = client.chat().completions().create(params.toBuilder()
        .streamOptions(java.util.Optional.empty()).build()).choices().getFirst().message().content().orElseThrow();

    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(params)) {
      stream.stream().forEach(chunk -> chunks.add(chunk.validate()));
    }
    assertThat(chunks.getFirst().choices().getFirst().delta().role()).isPresent();
    String streamed = chunks.stream().flatMap(c -> c.choices().stream())
        .map(c -> c.delta().content().orElse("")).collect(Collectors.joining());
    assertThat(streamed).isEqualTo(whole);
    ChatCompletionChunk beforeUsage = chunks.get(chunks.size() - 2);
    assertThat(beforeUsage.choices().getFirst().finishReason()).isPresent();
    ChatCompletionChunk last = chunks.getLast();
    assertThat(last.choices()).isEmpty();
    assertThat(last.usage().orElseThrow().completionTokens()).isBetween(1L, 6L);
  }

  @Test
  void completion_nGreaterThanOne_returnsNIndexedChoices() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(4).n(3).temperature(1.0).seed(7).build()).validate();

    assertThat(completion.choices()).extracting(CompletionChoice::index).containsExactly(0L, 1L, 2L);
    long completionTokens = completion.usage().orElseThrow().completionTokens();
    assertThat(completionTokens).isBetween(3L, 12L);
  }

  @Test
  void chat_nGreaterThanOneStreamed_everyChoiceFinishes() {
    Set<Long> finished = new java.util.HashSet<>();
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model(model()).addUserMessage("Hi").maxCompletionTokens(3).n(2)
            .seed(3).build())) {
      stream.stream().forEach(chunk -> chunk.choices().forEach(c -> {
        if (c.finishReason().isPresent()) {
          finished.add(c.index());
        }
      }));
    }
    assertThat(finished).containsExactlyInAnyOrder(0L, 1L);
  }

  @Test
  void completion_stopString_cutsTextBeforeIt() {
    CompletionCreateParams greedy = CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(8).temperature(0.0).build();
    String full = client.completions().create(greedy).choices().getFirst().text();
    assertThat(full.length()).as("greedy text long enough to cut").isGreaterThanOrEqualTo(4);
    String stop = full.substring(full.length() / 2, full.length() / 2 + 2);

    CompletionChoice cut = client.completions().create(greedy.toBuilder().stop(stop).build()).choices().getFirst();

    assertThat(cut.text()).isEqualTo(full.substring(0, full.indexOf(stop)));
    assertThat(cut.finishReason()).isEqualTo(CompletionChoice.FinishReason.STOP);
  }

  @Test
  void completion_sameSeed_reproducesSampledText() {
    CompletionCreateParams params = CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(8).temperature(1.0).seed(1234).build();
    String first = client.completions().create(params).choices().getFirst().text();
    String second = client.completions().create(params).choices().getFirst().text();
    assertThat(second).isEqualTo(first);
  }

  @Test
  void chat_logprobs_oneEntryPerTokenWithRequestedAlternatives() {
    ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addUserMessage("Hi").maxCompletionTokens(4).temperature(0.0).logprobs(true).topLogprobs(2)
        .build()).validate();
    var content = chat.choices().getFirst().logprobs().orElseThrow().content().orElseThrow();
    assertThat(content).hasSize((int) chat.usage().orElseThrow().completionTokens());
    assertThat(content).allSatisfy(t -> {
      assertThat(t.logprob()).isLessThanOrEqualTo(0.0);
      assertThat(t.topLogprobs()).hasSize(2);
    });
  }

  @Test
  void unknownModel_surfacesAsNotFoundException() {
    assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder()
        .model("no-such-model").prompt("x").maxTokens(1).build()))
        .isInstanceOfSatisfying(NotFoundException.class, e -> {
          assertThat(e.statusCode()).isEqualTo(404);
          assertThat(e.code()).contains("model_not_found");
        });
  }

  @Test
  void outOfRangeTemperature_surfacesAsBadRequestNamingTheParameter() {
    assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addUserMessage("x").temperature(3.0).build()))
        .isInstanceOfSatisfying(BadRequestException.class, e -> assertThat(e.param()).contains("temperature"));
  }

  @Test
  void promptPlusMaxTokensBeyondContext_surfacesAsBadRequest() {
    assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt(prompt()).maxTokens(100_000_000L).build()))
        .isInstanceOfSatisfying(BadRequestException.class,
            e -> assertThat(e.code()).contains("context_length_exceeded"));
  }

  @Test
  void wrongApiKey_surfacesAsUnauthorizedException() {
    org.junit.jupiter.api.Assumptions.assumeTrue(keysRequired(), "server runs without API keys");
    OpenAIClient wrong = newClient("sk-wrong");
    try {
      assertThatThrownBy(() -> wrong.models().list()).isInstanceOf(UnauthorizedException.class);
    } finally {
      wrong.close();
    }
  }
}
