package io.disagg.decode.internal;

import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.FinishReason;
import io.disagg.worker.Protos;
import io.grpc.Status;
import java.time.Instant;
import java.util.List;
import java.util.function.Consumer;

/**
 * One Decode request on its way through the engine: waiting for admission, then running in the batch until it
 * finishes. Everything except {@link #isCancelled()} is touched by the engine thread only.
 */
public final class DecodeStream {
  final String requestId;
  final int[] prompt;
  final SamplingParams sampling;
  /** Most tokens to generate, counting the first; 0 means up to the context length. */
  final int maxTokens;
  final ChunkSink sink;
  final Instant enqueuedAt;
  private final List<String> stops;

  // disaggregated only: the filled reservation, what it holds, and the token the prefill worker sampled
  final KvReservation reservation;
  final KvImport kvImport;
  final SampledToken firstToken;

  Sequence sequence;
  int generated;
  int nextInput;
  boolean finished;
  TextStreamer text;

  private DecodeStream(String requestId, int[] prompt, SamplingParams sampling, int maxTokens, List<String> stops,
      ChunkSink sink, Instant enqueuedAt, KvReservation reservation, KvImport kvImport, SampledToken firstToken) {
    this.requestId = requestId;
    this.prompt = prompt;
    this.sampling = sampling;
    this.maxTokens = maxTokens;
    this.stops = List.copyOf(stops);
    this.sink = sink;
    this.enqueuedAt = enqueuedAt;
    this.reservation = reservation;
    this.kvImport = kvImport;
    this.firstToken = firstToken;
  }

  /** A request this worker prefills itself. */
  public static DecodeStream colocated(String requestId, int[] prompt, SamplingParams sampling, int maxTokens,
      List<String> stops, ChunkSink sink, Instant enqueuedAt) {
    return new DecodeStream(requestId, prompt, sampling, maxTokens, stops, sink, enqueuedAt, null, null, null);
  }

  /**
   * A request whose KV cache arrived in {@code reservation}; the stream takes ownership of the reservation and closes
   * it if the request ends before import.
   */
  public static DecodeStream imported(String requestId, int[] prompt, SamplingParams sampling, int maxTokens,
      List<String> stops, ChunkSink sink, Instant enqueuedAt, KvReservation reservation, KvImport kvImport,
      SampledToken firstToken) {
    return new DecodeStream(
        requestId, prompt, sampling, maxTokens, stops, sink, enqueuedAt, reservation, kvImport, firstToken);
  }

  boolean isImport() {
    return reservation != null;
  }

  boolean isCancelled() {
    return sink.isCancelled();
  }

  /** Prompt tokens plus the generation budget, capped at the context: the KV room this request needs. */
  int reserveTokens(int contextLength) {
    int budget = maxTokens > 0 ? maxTokens : contextLength;
    return (int) Math.max(0, Math.min((long) contextLength, (long) prompt.length + budget) - prompt.length);
  }

  /** Starts decoding on {@code seq}, emitting the first token. */
  void start(Sequence seq, SampledToken first, Tokenizer tokenizer, int contextLength,
      Consumer<DecodeChunk.Builder> firstChunkExtras) {
    this.sequence = seq;
    int[] cached = seq.tokens();
    this.text = new TextStreamer(tokenizer, cached.length == 0 ? -1 : cached[cached.length - 1], stops);
    accept(first, tokenizer, contextLength, firstChunkExtras);
  }

  /** Takes one sampled token: emits it, or ends the stream on end-of-generation, a stop string or a length limit. */
  void accept(SampledToken token, Tokenizer tokenizer, int contextLength, Consumer<DecodeChunk.Builder> extras) {
    generated++;
    if (tokenizer.isEndOfGeneration(token.tokenId())) {
      finish(FinishReason.FINISH_REASON_STOP, extras);
      return;
    }
    String delta = text.append(token.tokenId());
    FinishReason finish = null;
    if (text.stopped()) {
      finish = FinishReason.FINISH_REASON_STOP;
    } else if (maxTokens > 0 && generated >= maxTokens) {
      finish = FinishReason.FINISH_REASON_LENGTH;
    } else if (sequence.cachedTokens() >= contextLength) {
      // the token cannot be fed back: there is no position left for it
      finish = FinishReason.FINISH_REASON_LENGTH;
    }
    if (finish == FinishReason.FINISH_REASON_LENGTH) {
      delta += text.finish();
    }
    sink.append(Protos.generatedToken(token), delta, finish, extras);
    if (finish != null) {
      end();
    } else {
      nextInput = token.tokenId();
    }
  }

  private void finish(FinishReason reason, Consumer<DecodeChunk.Builder> extras) {
    sink.append(null, text.finish(), reason, extras);
    end();
  }

  /** Ends the stream with an error; frees everything it holds. */
  void fail(Status status) {
    sink.fail(status);
    end();
  }

  /** Frees the KV blocks (sequence, or a reservation never imported). Idempotent. */
  void end() {
    finished = true;
    if (sequence != null) {
      sequence.close();
    }
    if (reservation != null) {
      reservation.close();
    }
  }
}
