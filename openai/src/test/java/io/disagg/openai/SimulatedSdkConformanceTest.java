package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.InternalServerException;
import com.openai.errors.OpenAIServiceException;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import io.disagg.openai.testing.OpenAiSdkConformanceTest;
import io.disagg.openai.testing.SimulatedInferenceService;
import io.disagg.proto.v1.GenerateRequest;
import io.grpc.Status;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The shared SDK suite against the simulator, plus exact expectations only the simulator allows. */
class SimulatedSdkConformanceTest extends OpenAiSdkConformanceTest {
  private SimulatedServer sim;

  @BeforeEach
  void startServer() {
    sim = SimulatedServer.withKey();
    client.close();
    client = newClient(apiKey());
  }

  @AfterEach
  void stopServer() {
    sim.close();
  }

  @Override
  protected String baseUrl() {
    return sim == null ? "http://127.0.0.1:1/v1" : sim.server.baseUrl();
  }

  @Override
  protected String apiKey() {
    return SimulatedServer.KEY;
  }

  @Override
  protected boolean keysRequired() {
    return true;
  }

  @Override
  protected String model() {
    return SimulatedServer.MODEL;
  }

  @Test
  void completion_usage_countsPromptOnceAndEveryGeneratedToken() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("one two three").maxTokens(5).n(2).build());

    var usage = completion.usage().orElseThrow();
    assertThat(usage.promptTokens()).isEqualTo(4); // BOS + three words, counted once for n = 2
    assertThat(usage.completionTokens()).isEqualTo(10);
    assertThat(usage.totalTokens()).isEqualTo(14);
  }

  @Test
  void completion_nWithSeed_choiceIUsesSeedPlusIAndDistinctRequestIds() {
    client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("one two").maxTokens(2).n(3).seed(100).build());

    List<GenerateRequest> requests = sim.service.requests();
    assertThat(requests).extracting(r -> r.getSampling().getSeed()).containsExactly(100L, 101L, 102L);
    assertThat(requests).extracting(GenerateRequest::getRequestId).doesNotHaveDuplicates();
  }

  @Test
  void completion_seededChoice_equalsSingleRequestWithThatSeed() {
    Completion three = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("one two").maxTokens(6).n(3).seed(100).build());
    Completion alone = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("one two").maxTokens(6).seed(102).build());

    assertThat(three.choices().get(2).text()).isEqualTo(alone.choices().getFirst().text());
    assertThat(three.choices().get(0).text()).isNotEqualTo(three.choices().get(1).text());
  }

  @Test
  void completion_promptArray_oneChoiceGroupPerPromptInOrder() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt(CompletionCreateParams.Prompt.ofArrayOfStrings(List.of("a", "b c")))
        .maxTokens(1).n(2).build());

    assertThat(completion.choices()).hasSize(4);
    assertThat(sim.service.requests()).extracting(GenerateRequest::getText).containsExactly("a", "a", "b c", "b c");
    assertThat(completion.usage().orElseThrow().promptTokens()).isEqualTo(2 + 3);
  }

  @Test
  void chat_rendersModelTemplateAndSendsTextToService() {
    client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addSystemMessage("Be brief.").addUserMessage("Hi there").maxCompletionTokens(1).build());

    assertThat(sim.service.requests().getFirst().getText()).isEqualTo(
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void chat_response_carriesTimingExtensionThatTheSdkIgnores() {
    ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addUserMessage("one two three four five six seven eight").maxCompletionTokens(3).build())
        .validate();

    JsonValue ext = chat._additionalProperties().get("disagg");
    assertThat(ext).isNotNull();
    @SuppressWarnings("unchecked")
    Map<String, Object> choice0 = (Map<String, Object>) ((List<Object>) ext.convert(Map.class).get("choices")).get(0);
    assertThat(choice0).containsKeys("request_id", "served_by", "timing");
    assertThat(((Map<?, ?>) choice0.get("served_by")).get("mode")).isEqualTo("disaggregated");
    assertThat(((Map<?, ?>) choice0.get("timing")).get("decode_us")).isEqualTo(60);
  }

  @Test
  void chat_created_comesFromInjectedClock() {
    ChatCompletion chat = client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addUserMessage("x").maxCompletionTokens(1).build());
    assertThat(chat.created()).isEqualTo(SimulatedServer.NOW.getEpochSecond());
  }

  @Test
  void completion_workerOverloaded_surfacesAsRateLimitException() {
    sim.service.failNewGenerations(Status.RESOURCE_EXHAUSTED.withDescription("decode queue full"));
    assertThatThrownBy(() -> client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("x").maxTokens(1).build()))
        .isInstanceOfSatisfying(RateLimitException.class, e -> {
          assertThat(e.headers().values("Retry-After")).containsExactly("1");
          assertThat(e.getMessage()).contains("decode queue full");
        });
  }

  @Test
  void chat_noWorkerReachable_surfacesAs503() {
    sim.service.ready(false);
    assertThatThrownBy(() -> client.chat().completions().create(ChatCompletionCreateParams.builder()
        .model(model()).addUserMessage("x").build()))
        .isInstanceOfSatisfying(InternalServerException.class, e -> assertThat(e.statusCode()).isEqualTo(503));
  }

  @Test
  void chat_failureMidStream_surfacesAsSdkExceptionFromTheStream() {
    sim.service.failMidStream(Status.UNAVAILABLE.withDescription("decode worker lost"), 2);
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        ChatCompletionCreateParams.builder().model(model()).addUserMessage("x").maxCompletionTokens(5).build())) {
      assertThatThrownBy(() -> stream.stream().forEach(c -> { }))
          .isInstanceOfSatisfying(OpenAIServiceException.class,
              e -> assertThat(e.getMessage()).contains("decode worker lost"));
    }
    assertThat(sim.service.kvBlocksInUse()).isZero();
  }

  @Test
  void completion_overInFlightLimit_getsRateLimitedWithRetryAfter() throws Exception {
    try (SimulatedServer small = new SimulatedServer(List.of(), 1, 1024)) {
      var smallClient = com.openai.client.okhttp.OpenAIOkHttpClient.builder()
          .baseUrl(small.server.baseUrl()).apiKey("unused").maxRetries(0).build();
      small.service.pauseAfter(1);
      CompletableFuture<Completion> first = CompletableFuture.supplyAsync(() -> smallClient.completions().create(
          CompletionCreateParams.builder().model(model()).prompt("x").maxTokens(3).build()));
      assertThat(small.service.pauses().poll(10, TimeUnit.SECONDS)).isNotNull();

      assertThatThrownBy(() -> smallClient.completions().create(CompletionCreateParams.builder()
          .model(model()).prompt("y").maxTokens(1).build()))
          .isInstanceOfSatisfying(RateLimitException.class,
              e -> assertThat(e.headers().values("Retry-After")).containsExactly("1"));

      small.service.resume();
      assertThat(first.get(10, TimeUnit.SECONDS).choices()).hasSize(1);
      smallClient.close();
    }
  }

  @Test
  void completion_echo_prependsPrompt() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("one two").maxTokens(2).echo(true).build());
    assertThat(completion.choices().getFirst().text()).startsWith("one two ");
  }

  @Test
  void completion_logprobs_renderLegacyShapeWithOffsets() {
    Completion completion = client.completions().create(CompletionCreateParams.builder()
        .model(model()).prompt("one").maxTokens(3).logprobs(2).temperature(0.0).build()).validate();
    var lp = completion.choices().getFirst().logprobs().orElseThrow();
    List<String> tokens = lp.tokens().orElseThrow();
    assertThat(tokens).hasSize(3).allSatisfy(t -> assertThat(SimulatedInferenceService.WORDS)
        .contains(t.strip()));
    assertThat(String.join("", tokens)).isEqualTo(completion.choices().getFirst().text());
    assertThat(lp.textOffset().orElseThrow()).containsExactly(0L, (long) tokens.get(0).length(),
        (long) (tokens.get(0).length() + tokens.get(1).length()));
    assertThat(lp.topLogprobs().orElseThrow()).allSatisfy(m -> assertThat(m._additionalProperties()).hasSize(2));
  }
}
