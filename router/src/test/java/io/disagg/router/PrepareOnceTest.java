package io.disagg.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.openai.NettyLeakDetectorExtension;
import io.disagg.openai.testing.RawHttp;
import io.disagg.proto.v1.GenerateRequest;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A request is prepared (validated, tokenized, defaults resolved) exactly once, whichever door it came through. */
@ExtendWith(NettyLeakDetectorExtension.class)
class PrepareOnceTest {

  /** The simulated tokenizer, counting the prompts it encodes. */
  private static final class CountingTokenizer extends SimulatedTokenizer {
    final AtomicInteger encodes = new AtomicInteger();

    @Override
    public int[] encode(String text) {
      encodes.incrementAndGet();
      return super.encode(text);
    }
  }

  private static ServedModel model(CountingTokenizer tokenizer) {
    return new ServedModel("simulated", "sim", SimulatedModel.CONTEXT_LENGTH, SimulatedModel.SHA256, Optional.empty(),
        tokenizer);
  }

  @Test
  void httpCompletion_textPromptWithThreeSamples_tokenizedOnce() throws Exception {
    CountingTokenizer tokenizer = new CountingTokenizer();
    try (Cluster cluster = new Cluster(0, 1, b -> b.model(model(tokenizer)), List.of(), true);
        RawHttp http = new RawHttp("127.0.0.1", cluster.http.port())) {
      RawHttp.Response response = http.postJson("/v1/completions", Map.of(),
          "{\"model\":\"simulated\",\"prompt\":\"hello there\",\"max_tokens\":3,\"n\":3}");

      assertThat(response.status()).as(response.body()).isEqualTo(200);
      assertThat(tokenizer.encodes).hasValue(1);
      assertThat(cluster.decode.getFirst().decodeRequests).hasSize(3)
          .allSatisfy(r -> assertThat(r.getPromptTokenIdsList()).isEqualTo(SimulatedModel.promptIds("hello there")));
    }
  }

  @Test
  void httpCompletion_disaggregated_tokenizedOnce() throws Exception {
    CountingTokenizer tokenizer = new CountingTokenizer();
    try (Cluster cluster = new Cluster(1, 1, b -> b.model(model(tokenizer)).disaggregateThreshold(4), List.of(),
        true); RawHttp http = new RawHttp("127.0.0.1", cluster.http.port())) {
      RawHttp.Response response = http.postJson("/v1/completions", Map.of(),
          "{\"model\":\"simulated\",\"prompt\":\"a prompt above the threshold\",\"max_tokens\":2}");

      assertThat(response.status()).as(response.body()).isEqualTo(200);
      assertThat(response.body()).contains("\"mode\":\"disaggregated\"");
      assertThat(tokenizer.encodes).hasValue(1);
    }
  }

  @Test
  void grpcGenerate_textPrompt_tokenizedOnce() {
    CountingTokenizer tokenizer = new CountingTokenizer();
    try (Cluster cluster = new Cluster(0, 1, b -> b.model(model(tokenizer)))) {
      cluster.blocking().generate(GenerateRequest.newBuilder().setText("hi").setMaxTokens(2).build());

      assertThat(tokenizer.encodes).hasValue(1);
    }
  }

  @Test
  void httpCompletion_noMaxTokens_getsTheRouterDefault() throws Exception {
    try (Cluster cluster = new Cluster(0, 1, b -> b.defaultMaxTokens(7), List.of(), true);
        RawHttp http = new RawHttp("127.0.0.1", cluster.http.port())) {
      RawHttp.Response completion = http.postJson("/v1/completions", Map.of(),
          "{\"model\":\"simulated\",\"prompt\":\"x\"}");
      RawHttp.Response chat = http.postJson("/v1/chat/completions", Map.of(),
          "{\"model\":\"simulated\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");

      assertThat(completion.status()).as(completion.body()).isEqualTo(200);
      assertThat(chat.status()).as(chat.body()).isEqualTo(200);
      assertThat(cluster.decode.getFirst().decodeRequests).extracting(r -> r.getMaxTokens()).containsExactly(7, 7);
    }
  }
}
