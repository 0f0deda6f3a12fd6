package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.ServeMode;
import io.disagg.router.ServedModel;
import io.grpc.Status;
import io.grpc.StatusException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * Checks a {@code GenerateRequest} and tokenizes its prompt. Every rejection is INVALID_ARGUMENT (malformed), OUT_OF_RANGE
 * (does not fit the context) or NOT_FOUND (another model), with a description naming the field, the value and what
 * was expected.
 */
public final class RequestValidator {
  /** The most alternatives per token the API reports, as in the proto. */
  public static final int MAX_TOP_LOGPROBS = 20;
  /** Stop strings per request; each is matched against the decoded text on every step. */
  public static final int MAX_STOP_STRINGS = 16;
  public static final int MAX_REQUEST_ID_LENGTH = 256;

  private final ServedModel model;
  private final int defaultMaxTokens;
  private final Supplier<String> requestIds;
  private final java.util.function.LongSupplier seeds;

  public RequestValidator(
      ServedModel model, int defaultMaxTokens, Supplier<String> requestIds, java.util.function.LongSupplier seeds) {
    this.model = model;
    this.defaultMaxTokens = defaultMaxTokens;
    this.requestIds = requestIds;
    this.seeds = seeds;
  }

  /**
   * Validates {@code r}, tokenizes its prompt (the one tokenizer call of the request) and resolves its defaults. May
   * block for as long as tokenizing takes: call it off event loops.
   */
  public PreparedRequest prepare(GenerateRequest r) throws StatusException {
    if (!r.getModel().isEmpty() && !r.getModel().equals(model.name())) {
      throw error(Status.NOT_FOUND, "model: '%s' is not served here (expected: '%s' or empty)", r.getModel(),
          model.name());
    }
    if (r.getRequestId().length() > MAX_REQUEST_ID_LENGTH) {
      throw error(Status.INVALID_ARGUMENT, "request_id: %d characters (expected: <= %d)", r.getRequestId().length(),
          MAX_REQUEST_ID_LENGTH);
    }
    ServeMode forced = r.getForceMode();
    if (forced == ServeMode.UNRECOGNIZED) {
      throw error(Status.INVALID_ARGUMENT, "force_mode: %d (expected: a known ServeMode)", r.getForceModeValue());
    }
    if (r.getTopLogprobs() > MAX_TOP_LOGPROBS) {
      throw error(Status.INVALID_ARGUMENT, "top_logprobs: %d (expected: <= %d)", r.getTopLogprobs(),
          MAX_TOP_LOGPROBS);
    }
    validateSampling(r.getSampling());
    if (r.getStopCount() > MAX_STOP_STRINGS) {
      throw error(Status.INVALID_ARGUMENT, "stop: %d strings (expected: <= %d)", r.getStopCount(), MAX_STOP_STRINGS);
    }
    for (int i = 0; i < r.getStopCount(); i++) {
      if (r.getStop(i).isEmpty()) {
        throw error(Status.INVALID_ARGUMENT, "stop[%d]: empty (expected: a non-empty string)", i);
      }
    }
    List<Integer> prompt = tokenize(r);
    int context = model.contextLength();
    if (prompt.size() >= context) {
      throw error(Status.OUT_OF_RANGE,
          "prompt: %d tokens (expected: < %d, the context length, leaving room for one generated token)",
          prompt.size(), context);
    }
    int room = context - prompt.size();
    int maxTokens;
    if (r.getMaxTokens() == 0) {
      maxTokens = Math.min(defaultMaxTokens, room);
    } else if (Integer.toUnsignedLong(r.getMaxTokens()) > room) {
      throw error(Status.OUT_OF_RANGE,
          "max_tokens: %d (expected: <= %d, the context length %d minus the %d prompt tokens)",
          Integer.toUnsignedLong(r.getMaxTokens()), room, context, prompt.size());
    } else {
      maxTokens = r.getMaxTokens();
    }
    String id = r.getRequestId().isEmpty() ? requestIds.get() : r.getRequestId();
    return new PreparedRequest(seeded(r), id, prompt, maxTokens, forced, this);
  }

  /** {@code prepared} as another sample of the same prompt: its tokens reused, only the id and sampling checked. */
  PreparedRequest resample(PreparedRequest prepared, String requestId, SamplingParams sampling)
      throws StatusException {
    if (requestId.length() > MAX_REQUEST_ID_LENGTH) {
      throw error(Status.INVALID_ARGUMENT, "request_id: %d characters (expected: <= %d)", requestId.length(),
          MAX_REQUEST_ID_LENGTH);
    }
    validateSampling(sampling);
    String id = requestId.isEmpty() ? requestIds.get() : requestId;
    GenerateRequest r = seeded(prepared.request().toBuilder().setRequestId(requestId).setSampling(sampling).build());
    return new PreparedRequest(r, id, prepared.promptTokenIds(), prepared.maxTokens(), prepared.forcedMode(), this);
  }

  /**
   * Without a seed the prefill and decode workers would each draw their own; fixing one here makes a sampled request
   * one stream whichever workers serve it.
   */
  private GenerateRequest seeded(GenerateRequest r) {
    if (r.getSampling().getTemperature() > 0 && !r.getSampling().getHasSeed()) {
      return r.toBuilder().setSampling(r.getSampling().toBuilder().setSeed(seeds.getAsLong()).setHasSeed(true)).build();
    }
    return r;
  }

  private List<Integer> tokenize(GenerateRequest r) throws StatusException {
    switch (r.getPromptCase()) {
      case TEXT -> {
        if (r.getText().isEmpty()) {
          throw error(Status.INVALID_ARGUMENT, "prompt.text: empty (expected: non-empty text or token ids)");
        }
        int[] ids = PromptTokens.encode(model.tokenizer(), r.getText());
        List<Integer> out = new ArrayList<>(ids.length);
        for (int id : ids) {
          out.add(id);
        }
        return out;
      }
      case TOKEN_IDS -> {
        List<Integer> ids = r.getTokenIds().getIdsList();
        if (ids.isEmpty()) {
          throw error(Status.INVALID_ARGUMENT, "prompt.token_ids: empty (expected: at least one token id)");
        }
        int vocab = model.tokenizer().vocabSize();
        for (int i = 0; i < ids.size(); i++) {
          long id = Integer.toUnsignedLong(ids.get(i));
          if (id >= vocab) {
            throw error(Status.INVALID_ARGUMENT, "prompt.token_ids[%d]: %d (expected: < %d, the vocabulary size)", i,
                id, vocab);
          }
        }
        return ids;
      }
      default -> throw error(Status.INVALID_ARGUMENT, "prompt: not set (expected: text or token_ids)");
    }
  }

  private static void validateSampling(SamplingParams s) throws StatusException {
    if (!(s.getTemperature() >= 0f) || Float.isInfinite(s.getTemperature())) {
      throw error(Status.INVALID_ARGUMENT, "sampling.temperature: %s (expected: finite and >= 0)",
          s.getTemperature());
    }
    if (!(s.getTopP() >= 0f && s.getTopP() <= 1f)) {
      throw error(Status.INVALID_ARGUMENT, "sampling.top_p: %s (expected: in [0, 1])", s.getTopP());
    }
    if (!(s.getPresencePenalty() >= -2f && s.getPresencePenalty() <= 2f)) {
      throw error(Status.INVALID_ARGUMENT, "sampling.presence_penalty: %s (expected: in [-2, 2])",
          s.getPresencePenalty());
    }
    if (!(s.getFrequencyPenalty() >= -2f && s.getFrequencyPenalty() <= 2f)) {
      throw error(Status.INVALID_ARGUMENT, "sampling.frequency_penalty: %s (expected: in [-2, 2])",
          s.getFrequencyPenalty());
    }
  }

  private static StatusException error(Status status, String format, Object... args) {
    return status.withDescription(format.formatted(args)).asException();
  }
}
