package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.TokenIds;
import io.disagg.router.ServedModel;
import io.grpc.Status;
import io.grpc.StatusException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
  private static final int CONTEXT = 64;
  private final RequestValidator validator = new RequestValidator(
      new ServedModel("m", "sim", CONTEXT, "ab".repeat(32), Optional.empty(), new Bytes()), 16, () -> "generated-id", () -> 4242L);

  /** A byte-per-token tokenizer with BOS 256 (vocabulary 258). */
  private static final class Bytes implements Tokenizer {
    @Override
    public int vocabSize() {
      return 258;
    }

    @Override
    public int bosId() {
      return 256;
    }

    @Override
    public int eosId() {
      return 257;
    }

    @Override
    public boolean addBos() {
      return true;
    }

    @Override
    public int[] encode(String text) {
      byte[] b = text.getBytes(StandardCharsets.UTF_8);
      int[] ids = new int[b.length];
      for (int i = 0; i < b.length; i++) {
        ids[i] = b[i] & 0xFF;
      }
      return ids;
    }

    @Override
    public byte[] tokenBytes(int previous, int tokenId) {
      return tokenId < 256 ? new byte[] {(byte) tokenId} : new byte[0];
    }

    @Override
    public String piece(int tokenId) {
      return String.valueOf(tokenId);
    }

    @Override
    public boolean isEndOfGeneration(int tokenId) {
      return tokenId == 257;
    }

    @Override
    public boolean isSpecial(int tokenId) {
      return tokenId >= 256;
    }
  }

  private static GenerateRequest.Builder text(String text) {
    return GenerateRequest.newBuilder().setText(text);
  }

  private void assertRejected(GenerateRequest request, Status.Code code, String descriptionPart) {
    assertThatThrownBy(() -> validator.prepare(request))
        .isInstanceOfSatisfying(StatusException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(code);
          assertThat(e.getStatus().getDescription()).contains(descriptionPart);
        });
  }

  @Test
  void prepare_sampledRequestWithoutSeed_getsOneFixedSeed() throws StatusException {
    PreparedRequest prepared = validator.prepare(GenerateRequest.newBuilder().setText("hi")
        .setSampling(SamplingParams.newBuilder().setTemperature(0.8f)).build());

    assertThat(prepared.request().getSampling().getHasSeed()).isTrue();
    assertThat(prepared.request().getSampling().getSeed()).isEqualTo(4242L);
  }

  @Test
  void prepare_seededOrGreedyRequest_keepsItsSampling() throws StatusException {
    PreparedRequest seeded = validator.prepare(GenerateRequest.newBuilder().setText("hi")
        .setSampling(SamplingParams.newBuilder().setTemperature(0.8f).setSeed(7).setHasSeed(true)).build());
    PreparedRequest greedy = validator.prepare(GenerateRequest.newBuilder().setText("hi").build());

    assertThat(seeded.request().getSampling().getSeed()).isEqualTo(7L);
    assertThat(greedy.request().getSampling().getHasSeed()).isFalse();
  }

  @Test
  void prepare_text_tokenizedWithBosAndDefaultsApplied() throws StatusException {
    PreparedRequest prepared = validator.prepare(text("hi").build());

    assertThat(prepared.promptTokenIds()).containsExactly(256, (int) 'h', (int) 'i');
    assertThat(prepared.maxTokens()).isEqualTo(16);
    assertThat(prepared.requestId()).isEqualTo("generated-id");
  }

  @Test
  void prepare_defaultMaxTokensBeyondContext_clampedToRoomLeft() throws StatusException {
    PreparedRequest prepared = validator.prepare(text("x".repeat(55)).build());

    assertThat(prepared.maxTokens()).isEqualTo(CONTEXT - 56);
  }

  @Test
  void prepare_clientRequestId_kept() throws StatusException {
    assertThat(validator.prepare(text("hi").setRequestId("mine").build()).requestId()).isEqualTo("mine");
  }

  @Test
  void prepare_noPromptOrEmptyPrompt_invalidArgument() {
    assertRejected(GenerateRequest.getDefaultInstance(), Status.Code.INVALID_ARGUMENT, "prompt: not set");
    assertRejected(text("").build(), Status.Code.INVALID_ARGUMENT, "prompt.text: empty");
    assertRejected(GenerateRequest.newBuilder().setTokenIds(TokenIds.getDefaultInstance()).build(),
        Status.Code.INVALID_ARGUMENT, "prompt.token_ids: empty");
  }

  @Test
  void prepare_tokenIdOutsideVocabulary_invalidArgument() {
    assertRejected(GenerateRequest.newBuilder().setTokenIds(TokenIds.newBuilder().addIds(1).addIds(258)).build(),
        Status.Code.INVALID_ARGUMENT, "prompt.token_ids[1]: 258 (expected: < 258");
  }

  @Test
  void prepare_promptFillingContext_outOfRange() {
    assertRejected(text("x".repeat(CONTEXT - 1)).build(), Status.Code.OUT_OF_RANGE, "prompt: 64 tokens");
  }

  @Test
  void prepare_maxTokensBeyondContext_outOfRange() {
    assertRejected(text("hi").setMaxTokens(62).build(), Status.Code.OUT_OF_RANGE,
        "max_tokens: 62 (expected: <= 61");
  }

  @Test
  void prepare_tooManyTopLogprobs_invalidArgument() {
    assertRejected(text("hi").setTopLogprobs(21).build(), Status.Code.INVALID_ARGUMENT, "top_logprobs: 21");
  }

  @Test
  void prepare_badSamplingValues_invalidArgument() {
    assertRejected(text("hi").setSampling(SamplingParams.newBuilder().setTemperature(-1)).build(),
        Status.Code.INVALID_ARGUMENT, "sampling.temperature");
    assertRejected(text("hi").setSampling(SamplingParams.newBuilder().setTemperature(Float.NaN)).build(),
        Status.Code.INVALID_ARGUMENT, "sampling.temperature");
    assertRejected(text("hi").setSampling(SamplingParams.newBuilder().setTopP(1.5f)).build(),
        Status.Code.INVALID_ARGUMENT, "sampling.top_p");
    assertRejected(text("hi").setSampling(SamplingParams.newBuilder().setPresencePenalty(3)).build(),
        Status.Code.INVALID_ARGUMENT, "sampling.presence_penalty");
    assertRejected(text("hi").setSampling(SamplingParams.newBuilder().setFrequencyPenalty(-2.5f)).build(),
        Status.Code.INVALID_ARGUMENT, "sampling.frequency_penalty");
  }

  @Test
  void prepare_emptyStopString_invalidArgument() {
    assertRejected(text("hi").addStop("ok").addStop("").build(), Status.Code.INVALID_ARGUMENT, "stop[1]: empty");
  }

  @Test
  void prepare_otherModelName_notFound() {
    assertRejected(text("hi").setModel("gpt-9").build(), Status.Code.NOT_FOUND, "model: 'gpt-9'");
  }
}
