package io.disagg.openai.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.disagg.openai.Cancellable;
import io.disagg.openai.InferenceService;
import io.disagg.openai.PreparedGeneration;
import io.disagg.openai.internal.ChoiceState.Alternative;
import io.disagg.openai.internal.ChoiceState.TokenEntry;
import io.disagg.openai.internal.ParsedRequest.Kind;
import io.disagg.openai.internal.ParsedRequest.Prompt;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GeneratedToken;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.TokenIds;
import io.disagg.proto.v1.TokenLogprob;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;

/**
 * One HTTP completion request fanned out into {@code prompts × n} generations, and the response assembled from them:
 * a single JSON body, or an SSE stream.
 *
 * <p>Threading: everything except {@link #prepare} (tokenizer calls, on the blocking executor) and the observer
 * callbacks (any thread) runs on the channel's event loop; observer callbacks hop onto it, so the state needs no
 * locks. Every generation ends in exactly one of: completion, an error, or {@link #abort} (client gone), and
 * {@code onDone} runs exactly once.
 *
 * <p>Choice {@code p * n + i} is sample {@code i} of prompt {@code p} (OpenAI's ordering). With a seed, sample {@code i}
 * uses {@code seed + i}, so each sample is reproducible alone and samples differ from one another.
 */
final class GenerationExchange {
  private final ChannelHandlerContext ctx;
  private final ServerContext server;
  private final ParsedRequest request;
  private final boolean keepAlive;
  private final Runnable onDone;
  private final ObjectMapper json;
  private final String id;
  private final long created;
  private final List<ChoiceState> choices = new ArrayList<>();
  private final List<Cancellable> handles = new ArrayList<>();
  private ModelDescription model;
  private List<String> promptTexts;
  private List<PreparedGeneration> prepared;
  private boolean headersSent;
  private boolean finished;
  private int remaining;

  GenerationExchange(ChannelHandlerContext ctx, ServerContext server, ParsedRequest request, boolean keepAlive,
                     Runnable onDone) {
    this.ctx = ctx;
    this.server = server;
    this.request = request;
    this.keepAlive = keepAlive;
    this.onDone = onDone;
    this.json = server.json();
    this.id = server.newId(request.kind() == Kind.CHAT ? "chatcmpl-" : "cmpl-");
    this.created = server.clock().instant().getEpochSecond();
  }

  /** Renders and counts prompts off the event loop, then starts the generations on it. */
  void start(ModelDescription model) {
    this.model = model;
    CompletableFuture.runAsync(this::prepare, server.blockingExecutor())
        .whenComplete((ignored, failure) -> onLoop(() -> {
          if (finished) {
            return;
          }
          if (failure != null) {
            fail(ErrorMapper.fromThrowable(failure));
          } else {
            launch();
          }
        }));
  }

  /** Client went away or the channel closed: stop every generation; nothing more is written. */
  void abort() {
    if (finished) {
      return;
    }
    // Slot first, then cancel: whoever observes the cancellation also sees the slot freed.
    finish();
    cancelAll();
  }

  /**
   * Renders the chat template and has the service prepare each prompt (validation, tokenization, the default
   * {@code max_tokens}): once per prompt, however many samples are drawn from it. Runs on the blocking executor.
   */
  private void prepare() {
    InferenceService service = server.service();
    List<String> texts = new ArrayList<>();
    List<Prompt> prompts = request.kind() == Kind.CHAT
        ? List.of(new Prompt.Text(server.chatTemplate(model).render(request.messages())))
        : request.prompts();
    List<PreparedGeneration> out = new ArrayList<>(prompts.size());
    for (int p = 0; p < prompts.size(); p++) {
      GenerateRequest.Builder b = GenerateRequest.newBuilder()
          .setRequestId(id + "-" + p * request.n())
          .setSampling(sampling(0))
          .setMaxTokens(request.maxTokens() == null ? 0 : request.maxTokens())
          .addAllStop(request.stop())
          .setModel(model.getName())
          .setLogprobs(request.logprobs())
          .setTopLogprobs(request.logprobs() ? request.topLogprobs() : 0);
      switch (prompts.get(p)) {
        case Prompt.Text text -> {
          texts.add(text.text());
          b.setText(text.text());
        }
        case Prompt.Tokens tokens -> {
          texts.add(null);
          b.setTokenIds(TokenIds.newBuilder().addAllIds(tokens.ids()));
        }
      }
      try {
        out.add(service.prepare(b.build()));
      } catch (StatusRuntimeException e) {
        throw asApiError(e);
      }
    }
    this.promptTexts = texts;
    this.prepared = out;
  }

  /** The service's refusal as OpenAI reports it: a context overflow names the dialect's prompt parameter. */
  private RuntimeException asApiError(StatusRuntimeException e) {
    Status status = e.getStatus();
    String message = status.getDescription() == null ? status.getCode().name() : status.getDescription();
    return switch (status.getCode()) {
      case OUT_OF_RANGE -> new ApiException(ErrorMapper.badRequest(message,
          request.kind() == Kind.CHAT ? "messages" : "prompt", "context_length_exceeded"));
      case INVALID_ARGUMENT -> new ApiException(ErrorMapper.badRequest(message,
          request.kind() == Kind.CHAT ? "messages" : "prompt", "invalid_value"));
      default -> e;
    };
  }

  private SamplingParams sampling(int sample) {
    SamplingParams.Builder sampling = SamplingParams.newBuilder()
        .setTemperature(request.temperature())
        .setTopP(request.topP())
        .setPresencePenalty(request.presencePenalty())
        .setFrequencyPenalty(request.frequencyPenalty());
    if (request.seed() != null) {
      sampling.setSeed(request.seed() + sample).setHasSeed(true);
    }
    return sampling.build();
  }

  private void launch() {
    if (!ctx.channel().isActive()) {
      abort();
      return;
    }
    int n = request.n();
    int promptCount = prepared.size();
    for (int p = 0; p < promptCount; p++) {
      for (int i = 0; i < n; i++) {
        int index = p * n + i;
        ChoiceState choice = new ChoiceState(index, p, id + "-" + index);
        if (request.echo()) {
          choice.text.append(promptTexts.get(p));
        }
        choices.add(choice);
      }
    }
    remaining = choices.size();
    for (ChoiceState choice : choices) {
      if (finished) {
        return;
      }
      try {
        handles.add(server.service().generate(preparedFor(choice), new ChoiceObserver(choice)));
      } catch (RuntimeException e) {
        onError(choice, e);
      }
    }
  }

  /** Sample 0 of a prompt is the prepared request itself; the others reuse its tokens under their own id and seed. */
  private PreparedGeneration preparedFor(ChoiceState choice) {
    int sample = choice.index - choice.promptIndex * request.n();
    PreparedGeneration base = prepared.get(choice.promptIndex);
    return sample == 0 ? base : base.forSample(choice.requestId, sampling(sample));
  }

  // ---- events from the service, on the event loop ----

  private void onChunk(ChoiceState choice, GenerateChunk chunk) {
    if (finished || choice.done) {
      return;
    }
    if (chunk.getFinishReason() == FinishReason.FINISH_REASON_CANCELLED) {
      onError(choice, Status.UNAVAILABLE.withDescription("generation " + choice.requestId
          + " was cancelled by the server").asRuntimeException());
      return;
    }
    if (request.stream()) {
      beginStreamFor(choice);
    }
    List<TokenEntry> fresh = appendTokens(choice, chunk);
    String delta = chunk.getTextDelta();
    choice.text.append(delta);
    choice.generatedTokens += chunk.getTokenIdsCount();
    if (request.stream() && (!delta.isEmpty() || !fresh.isEmpty())) {
      writeEvent(streamChunk(choice, delta, fresh, null));
    }
    if (chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
      choice.done = true;
      choice.finishReason = chunk.getFinishReason();
      choice.usage = chunk.hasUsage() ? chunk.getUsage() : null;
      choice.timing = chunk.hasTiming() ? chunk.getTiming() : null;
      choice.servedBy = chunk.hasServedBy() ? chunk.getServedBy() : null;
      if (request.stream()) {
        ObjectNode last = streamChunk(choice, "", List.of(), finishReason(choice.finishReason));
        last.set("disagg", extension(List.of(choice)));
        writeEvent(last);
      }
      if (--remaining == 0) {
        complete();
      }
    }
  }

  private void onCompleted(ChoiceState choice) {
    if (finished || choice.done) {
      return;
    }
    onError(choice, Status.INTERNAL.withDescription("generation " + choice.requestId
        + " ended without a final chunk").asRuntimeException());
  }

  private void onError(ChoiceState choice, Throwable t) {
    if (finished) {
      return;
    }
    fail(ErrorMapper.fromThrowable(t));
    cancelAll();
  }

  // ---- streaming ----

  private void beginStreamFor(ChoiceState choice) {
    if (!headersSent) {
      HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
      response.headers()
          .set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
          .set(HttpHeaderNames.CACHE_CONTROL, "no-cache")
          .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
      if (!keepAlive) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
      }
      ctx.write(response).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
      headersSent = true;
    }
    if (!choice.started) {
      choice.started = true;
      if (request.kind() == Kind.CHAT) {
        ObjectNode first = chunkEnvelope();
        ObjectNode c = first.putArray("choices").addObject();
        c.put("index", choice.index);
        ObjectNode delta = c.putObject("delta");
        delta.put("role", "assistant");
        delta.put("content", "");
        delta.putNull("refusal");
        c.putNull("logprobs");
        c.putNull("finish_reason");
        writeEvent(first);
      } else if (request.echo()) {
        writeEvent(streamChunk(choice, promptTexts.get(choice.promptIndex), List.of(), null));
      }
    }
  }

  private ObjectNode chunkEnvelope() {
    ObjectNode root = json.createObjectNode();
    root.put("id", id);
    root.put("object", request.kind() == Kind.CHAT ? "chat.completion.chunk" : "text_completion");
    root.put("created", created);
    root.put("model", model.getName());
    if (!model.getFingerprint().isEmpty()) {
      root.put("system_fingerprint", model.getFingerprint());
    }
    if (request.includeUsage()) {
      root.putNull("usage");
    }
    return root;
  }

  private ObjectNode streamChunk(ChoiceState choice, String delta, List<TokenEntry> tokens, String finish) {
    ObjectNode root = chunkEnvelope();
    ObjectNode c = root.putArray("choices").addObject();
    c.put("index", choice.index);
    if (request.kind() == Kind.CHAT) {
      ObjectNode d = c.putObject("delta");
      if (finish == null) {
        d.put("content", delta);
      }
      c.set("logprobs", request.logprobs() && !tokens.isEmpty() ? chatLogprobs(tokens) : json.nullNode());
    } else {
      c.put("text", delta);
      c.set("logprobs", request.logprobs() && !tokens.isEmpty() ? completionLogprobs(tokens) : json.nullNode());
    }
    c.put("finish_reason", finish);
    return root;
  }

  private void writeEvent(JsonNode event) {
    writeSse(json.valueToTree(event).toString());
  }

  private void writeSse(String data) {
    // Ownership: the buffer passes to Netty with the write, which releases it once written or failed.
    ByteBuf buf = Unpooled.copiedBuffer("data: " + data + "\n\n", StandardCharsets.UTF_8);
    ctx.writeAndFlush(new DefaultHttpContent(buf)).addListener(ChannelFutureListener.CLOSE_ON_FAILURE);
  }

  // ---- completion and failure ----

  private void complete() {
    // Free the slot before the last byte goes out, so a client that has its answer never finds the slot taken.
    finish();
    if (request.stream()) {
      if (request.includeUsage()) {
        ObjectNode last = chunkEnvelope();
        last.putArray("choices");
        last.set("usage", usage());
        writeEvent(last);
      }
      writeSse("[DONE]");
      endStream();
    } else {
      HttpResponses.sendJson(ctx, HttpResponseStatus.OK, fullResponse(), keepAlive, json);
    }
  }

  private void fail(ApiError error) {
    finish();
    if (headersSent) {
      // The 200 and part of the stream are already out: report in-band, the way OpenAI's SDKs read stream errors.
      writeEvent(ErrorMapper.toJson(json, error));
      writeSse("[DONE]");
      endStream();
    } else {
      HttpResponses.sendError(ctx, error, keepAlive, json);
    }
  }

  private void endStream() {
    var future = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    if (!keepAlive) {
      future.addListener(ChannelFutureListener.CLOSE);
    }
  }

  private void finish() {
    finished = true;
    onDone.run();
  }

  private void cancelAll() {
    for (Cancellable handle : handles) {
      try {
        handle.cancel();
      } catch (RuntimeException ignored) {
        // Cancelling is best effort: one failing handle must not keep the others running.
      }
    }
  }

  // ---- bodies ----

  private ObjectNode fullResponse() {
    ObjectNode root = json.createObjectNode();
    root.put("id", id);
    root.put("object", request.kind() == Kind.CHAT ? "chat.completion" : "text_completion");
    root.put("created", created);
    root.put("model", model.getName());
    if (!model.getFingerprint().isEmpty()) {
      root.put("system_fingerprint", model.getFingerprint());
    }
    ArrayNode array = root.putArray("choices");
    for (ChoiceState choice : choices) {
      ObjectNode c = array.addObject();
      c.put("index", choice.index);
      if (request.kind() == Kind.CHAT) {
        ObjectNode message = c.putObject("message");
        message.put("role", "assistant");
        message.put("content", choice.text.toString());
        message.putNull("refusal");
        c.set("logprobs", request.logprobs() ? chatLogprobs(choice.tokens) : json.nullNode());
      } else {
        c.put("text", choice.text.toString());
        c.set("logprobs", request.logprobs() ? completionLogprobs(choice.tokens) : json.nullNode());
      }
      c.put("finish_reason", finishReason(choice.finishReason));
    }
    root.set("usage", usage());
    root.set("disagg", extension(choices));
    return root;
  }

  private ObjectNode usage() {
    long prompt = 0;
    long completion = 0;
    long cached = 0;
    boolean[] counted = new boolean[prepared.size()];
    for (ChoiceState c : choices) {
      int reportedPrompt = c.usage != null ? c.usage.getPromptTokens() : 0;
      if (!counted[c.promptIndex]) {
        // OpenAI counts each prompt once, however many samples were drawn from it.
        counted[c.promptIndex] = true;
        prompt += reportedPrompt > 0 ? reportedPrompt : prepared.get(c.promptIndex).promptTokens();
        cached += c.usage != null ? c.usage.getCachedPromptTokens() : 0;
      }
      completion += c.usage != null && c.usage.getCompletionTokens() > 0
          ? c.usage.getCompletionTokens() : c.generatedTokens;
    }
    ObjectNode usage = json.createObjectNode();
    usage.put("prompt_tokens", prompt);
    usage.put("completion_tokens", completion);
    usage.put("total_tokens", prompt + completion);
    usage.putObject("prompt_tokens_details").put("cached_tokens", cached);
    return usage;
  }

  /** The documented {@code disagg} extension: per choice, how it was served and where its time went. */
  private ObjectNode extension(List<ChoiceState> of) {
    ObjectNode ext = json.createObjectNode();
    ArrayNode array = ext.putArray("choices");
    for (ChoiceState c : of) {
      ObjectNode e = array.addObject();
      e.put("index", c.index);
      e.put("request_id", c.requestId);
      if (c.servedBy != null) {
        ObjectNode s = e.putObject("served_by");
        s.put("mode", switch (c.servedBy.getMode()) {
          case SERVE_MODE_DISAGGREGATED -> "disaggregated";
          case SERVE_MODE_COLOCATED -> "colocated";
          case SERVE_MODE_UNSPECIFIED, UNRECOGNIZED -> "unspecified";
        });
        s.put("reason", c.servedBy.getReason());
        s.put("prefill_worker", c.servedBy.getPrefillWorker());
        s.put("decode_worker", c.servedBy.getDecodeWorker());
      }
      if (c.timing != null) {
        ObjectNode t = e.putObject("timing");
        t.put("queued_us", c.timing.getQueuedUs());
        t.put("prefill_us", c.timing.getPrefillUs());
        t.put("kv_transfer_us", c.timing.getKvTransferUs());
        t.put("first_token_us", c.timing.getFirstTokenUs());
        t.put("decode_us", c.timing.getDecodeUs());
        t.put("total_us", c.timing.getTotalUs());
        t.put("kv_transfer_bytes", c.timing.getKvTransferBytes());
      }
      if (c.usage != null) {
        e.put("cached_prompt_tokens", c.usage.getCachedPromptTokens());
      }
    }
    return ext;
  }

  private static String finishReason(FinishReason reason) {
    return reason == FinishReason.FINISH_REASON_LENGTH ? "length" : "stop";
  }

  private List<TokenEntry> appendTokens(ChoiceState choice, GenerateChunk chunk) {
    if (!request.logprobs() || chunk.getTokensCount() == 0) {
      return List.of();
    }
    List<TokenEntry> fresh = new ArrayList<>(chunk.getTokensCount());
    int offset = choice.text.length();
    for (GeneratedToken token : chunk.getTokensList()) {
      String text = tokenText(chunk, token);
      List<Alternative> top = new ArrayList<>(token.getTopCount());
      for (TokenLogprob alt : token.getTopList()) {
        top.add(new Alternative(alt.getText(), alt.getLogprob()));
      }
      TokenEntry entry = new TokenEntry(text, token.getLogprob(), top, offset);
      offset += text.length();
      fresh.add(entry);
      choice.tokens.add(entry);
    }
    return fresh;
  }

  /**
   * The token's own text when the server filled it in; otherwise (older servers) a matching alternative's text, or the
   * chunk's text when the chunk holds this one token.
   */
  private static String tokenText(GenerateChunk chunk, GeneratedToken token) {
    if (!token.getText().isEmpty()) {
      return token.getText();
    }
    for (TokenLogprob alt : token.getTopList()) {
      if (alt.getTokenId() == token.getTokenId()) {
        return alt.getText();
      }
    }
    return chunk.getTokensCount() == 1 ? chunk.getTextDelta() : "";
  }

  private ObjectNode completionLogprobs(List<TokenEntry> tokens) {
    ObjectNode lp = json.createObjectNode();
    ArrayNode texts = lp.putArray("tokens");
    ArrayNode logprobs = lp.putArray("token_logprobs");
    ArrayNode offsets = lp.putArray("text_offset");
    ArrayNode tops = request.topLogprobs() > 0 ? lp.putArray("top_logprobs") : null;
    if (tops == null) {
      lp.putNull("top_logprobs");
    }
    for (TokenEntry t : tokens) {
      texts.add(t.text());
      logprobs.add(t.logprob());
      offsets.add(t.textOffset());
      if (tops != null) {
        ObjectNode map = tops.addObject();
        for (Alternative a : t.top()) {
          map.put(a.text(), a.logprob());
        }
      }
    }
    return lp;
  }

  private ObjectNode chatLogprobs(List<TokenEntry> tokens) {
    ObjectNode lp = json.createObjectNode();
    ArrayNode content = lp.putArray("content");
    for (TokenEntry t : tokens) {
      ObjectNode o = content.addObject();
      o.put("token", t.text());
      o.put("logprob", t.logprob());
      o.set("bytes", bytes(t.text()));
      ArrayNode top = o.putArray("top_logprobs");
      for (Alternative a : t.top()) {
        ObjectNode alt = top.addObject();
        alt.put("token", a.text());
        alt.put("logprob", a.logprob());
        alt.set("bytes", bytes(a.text()));
      }
    }
    lp.putNull("refusal");
    return lp;
  }

  private ArrayNode bytes(String text) {
    ArrayNode array = json.createArrayNode();
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      array.add(b & 0xff);
    }
    return array;
  }

  private void onLoop(Runnable task) {
    try {
      ctx.executor().execute(task);
    } catch (RejectedExecutionException e) {
      // The event loop is shutting down with the server; the channel and its generations go with it.
    }
  }

  /** Hops every callback onto the channel's event loop. */
  private final class ChoiceObserver implements StreamObserver<GenerateChunk> {
    private final ChoiceState choice;

    ChoiceObserver(ChoiceState choice) {
      this.choice = choice;
    }

    @Override
    public void onNext(GenerateChunk chunk) {
      onLoop(() -> onChunk(choice, chunk));
    }

    @Override
    public void onError(Throwable t) {
      onLoop(() -> GenerationExchange.this.onError(choice, t));
    }

    @Override
    public void onCompleted() {
      onLoop(() -> GenerationExchange.this.onCompleted(choice));
    }
  }
}
