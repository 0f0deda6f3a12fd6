package io.disagg.router.internal;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.backend.spi.Utf8StreamDecoder;
import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GeneratedToken;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import io.disagg.proto.v1.Timing;
import io.disagg.proto.v1.TokenLogprob;
import io.disagg.proto.v1.Usage;
import io.disagg.router.ServeDecision;
import io.disagg.router.Ticker;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Turns worker output into the client's chunks: token texts filled in where workers sent only ids, the prefill's first
 * token sent early, and the final chunk's usage, timing and served-by. Holds the per-request accounting (token counts,
 * first and last token times). Confined to the generation's stage chain (one thread at a time).
 */
final class ChunkAssembler {
  /** What the assembler observes for the cluster's meters and cost model. */
  interface Observations {
    void interToken(long gapNanos, int tokens);

    /** A colocated request's prefill, done on its decode worker. */
    void colocatedPrefill(WorkerHandle decode, int computedTokens, long prefillUs);
  }

  private final Ticker ticker;
  private final Tokenizer tokenizer;
  private final PreparedRequest req;
  private final Observations observations;
  private final long arrivalNanos;
  private volatile ServeDecision decision; // also read by cancel() for the meters
  private WorkerHandle prefillWorker;
  private WorkerHandle decodeWorker;
  private PrefillResponse prefill;
  private long dispatchNanos;
  private long firstTokenNanos = -1;
  private long lastTokenNanos = -1;
  private int completionTokens;
  /** The token before the next generated one (the last prompt token at first), for rendering token texts. */
  private int previousToken = -1;
  private long workerQueuedUs;
  private long workerPrefillUs;
  private int cachedPromptTokens;
  /** The prefill's first token, already sent; the decode worker's first chunk repeats it. */
  private GeneratedToken early;
  private String earlyText = "";

  ChunkAssembler(Ticker ticker, Tokenizer tokenizer, PreparedRequest req, Observations observations) {
    this.ticker = ticker;
    this.tokenizer = tokenizer;
    this.req = req;
    this.observations = observations;
    this.arrivalNanos = ticker.nanoTime();
    if (!req.promptTokenIds().isEmpty()) {
      previousToken = req.promptTokenIds().getLast();
    }
  }

  long arrivalNanos() {
    return arrivalNanos;
  }

  ServeDecision decision() {
    return decision;
  }

  void decision(ServeDecision decision) {
    this.decision = decision;
  }

  void prefillWorker(WorkerHandle worker) {
    this.prefillWorker = worker;
  }

  void decodeWorker(WorkerHandle worker) {
    this.decodeWorker = worker;
  }

  /** The request leaves the router for its first worker that does model work (prefill, or a colocated decode). */
  void dispatched() {
    dispatchNanos = ticker.nanoTime();
  }

  void prefilled(PrefillResponse response) {
    this.prefill = response;
  }

  int completionTokens() {
    return completionTokens;
  }

  /**
   * The chunk that hands the prefill's first token to the client before the decode worker's first chunk, or empty
   * when it cannot be sent early with the same text the decode worker will produce: with stop strings (the worker may
   * hold the text back), an end-of-generation token (the worker ends without text), or a token whose bytes do not
   * complete a character (the worker waits for the next token).
   */
  Optional<GenerateChunk> early(GeneratedToken first) {
    if (early != null || completionTokens > 0 || req.request().getStopCount() > 0
        || tokenizer.isEndOfGeneration(first.getTokenId()) || first.getTokenId() >= tokenizer.vocabSize()) {
      return Optional.empty();
    }
    String text = new Utf8StreamDecoder(tokenizer, previousToken).append(first.getTokenId());
    if (text.isEmpty()) {
      return Optional.empty();
    }
    early = first;
    earlyText = text;
    GenerateChunk.Builder out = GenerateChunk.newBuilder().setRequestId(req.requestId()).setTextDelta(text)
        .addTokenIds(first.getTokenId());
    if (req.wantsTokenDetails()) {
      out.addTokens(withText(first, previousToken));
    }
    previousToken = first.getTokenId();
    countTokens(1);
    return Optional.of(out.build());
  }

  /** The client's chunk for a decode worker's chunk; the final one (finish reason set) carries the summary. */
  GenerateChunk assemble(DecodeChunk chunk) {
    chunk = withoutEarlyToken(chunk);
    GenerateChunk.Builder out = GenerateChunk.newBuilder().setRequestId(req.requestId())
        .setTextDelta(chunk.getTextDelta());
    boolean details = req.wantsTokenDetails();
    for (GeneratedToken token : chunk.getTokensList()) {
      out.addTokenIds(token.getTokenId());
      if (details) {
        out.addTokens(withText(token, previousToken));
      }
      previousToken = token.getTokenId();
    }
    workerQueuedUs = Math.max(workerQueuedUs, chunk.getQueuedUs());
    workerPrefillUs = Math.max(workerPrefillUs, chunk.getPrefillUs());
    cachedPromptTokens = Math.max(cachedPromptTokens, chunk.getCachedPromptTokens());
    long now = countTokens(chunk.getTokensCount());
    if (chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED) {
      if (firstTokenNanos < 0) {
        firstTokenNanos = now;
      }
      if (prefill == null && decodeWorker != null) {
        observations.colocatedPrefill(decodeWorker, req.promptTokens() - cachedPromptTokens, workerPrefillUs);
      }
      out.setFinishReason(chunk.getFinishReason())
          .setUsage(usage())
          .setTiming(timing(now))
          .setServedBy(servedBy());
    }
    return out.build();
  }

  /** Drops the token sent early from the decode worker's first chunk, with its text. */
  private DecodeChunk withoutEarlyToken(DecodeChunk chunk) {
    if (early == null || chunk.getTokensCount() == 0) {
      return chunk;
    }
    GeneratedToken repeated = chunk.getTokens(0);
    GeneratedToken sent = early;
    early = null;
    if (repeated.getTokenId() != sent.getTokenId()) {
      return chunk; // the worker did not start from the prefill's token; nothing to drop
    }
    String delta = chunk.getTextDelta();
    DecodeChunk.Builder b = chunk.toBuilder().removeTokens(0);
    b.setTextDelta(delta.startsWith(earlyText) ? delta.substring(earlyText.length()) : delta);
    return b.build();
  }

  private long countTokens(int tokens) {
    long now = ticker.nanoTime();
    completionTokens += tokens;
    if (tokens > 0) {
      if (firstTokenNanos < 0) {
        firstTokenNanos = now;
      } else if (lastTokenNanos >= 0) {
        observations.interToken(now - lastTokenNanos, tokens);
      }
      lastTokenNanos = now;
    }
    return now;
  }

  /**
   * Fills the token's text, and its alternatives', where the worker left them empty (workers send ids; the router
   * holds the tokenizer). Alternatives render after the same predecessor as the token they stand in for.
   */
  private GeneratedToken withText(GeneratedToken token, int previous) {
    boolean complete = !token.getText().isEmpty();
    for (TokenLogprob alt : token.getTopList()) {
      complete &= !alt.getText().isEmpty();
    }
    if (complete) {
      return token;
    }
    GeneratedToken.Builder b = token.toBuilder();
    if (token.getText().isEmpty()) {
      b.setText(PromptTokens.text(tokenizer, previous, token.getTokenId()));
    }
    for (int i = 0; i < b.getTopCount(); i++) {
      TokenLogprob alt = b.getTop(i);
      if (alt.getText().isEmpty()) {
        b.setTop(i, alt.toBuilder().setText(PromptTokens.text(tokenizer, previous, alt.getTokenId())));
      }
    }
    return b.build();
  }

  Usage usage() {
    int cached = cachedPromptTokens;
    if (prefill != null) {
      cached = Math.max(cached, prefill.getCachedPromptTokens());
    }
    return Usage.newBuilder()
        .setPromptTokens(req.promptTokens())
        .setCompletionTokens(completionTokens)
        .setCachedPromptTokens(cached)
        .build();
  }

  /** Nanoseconds from arrival to the first token the client got, and from then to the end; for the meters. */
  long firstTokenNanos() {
    return firstTokenNanos - arrivalNanos;
  }

  private Timing timing(long now) {
    Timing.Builder t = Timing.newBuilder()
        .setFirstTokenUs(micros(firstTokenNanos - arrivalNanos))
        .setDecodeUs(micros(now - firstTokenNanos))
        .setTotalUs(micros(now - arrivalNanos));
    long routerQueuedUs = micros(dispatchNanos - arrivalNanos);
    if (prefill != null) {
      t.setQueuedUs(routerQueuedUs + prefill.getQueuedUs())
          .setPrefillUs(prefill.getPrefillUs())
          .setKvTransferUs(prefill.getKvTransferUs())
          .setKvTransferBytes(prefill.getKvTransferBytes());
    } else {
      t.setQueuedUs(routerQueuedUs + workerQueuedUs).setPrefillUs(workerPrefillUs);
    }
    return t.build();
  }

  private ServedBy servedBy() {
    ServedBy.Builder s = ServedBy.newBuilder().setMode(decision.mode()).setReason(decision.reason());
    if (decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED && prefillWorker != null) {
      s.setPrefillWorker(prefillWorker.id());
    }
    if (decodeWorker != null) {
      s.setDecodeWorker(decodeWorker.id());
    }
    return s.build();
  }

  /** The mode as the meters tag it. */
  String modeTag() {
    if (decision == null) {
      return "none";
    }
    return decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED ? "disaggregated" : "colocated";
  }

  private static long micros(long nanos) {
    return Math.max(0L, TimeUnit.NANOSECONDS.toMicros(nanos));
  }
}
