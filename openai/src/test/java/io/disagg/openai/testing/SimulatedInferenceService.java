package io.disagg.openai.testing;

import io.disagg.openai.Cancellable;
import io.disagg.openai.InferenceService;
import io.disagg.openai.PreparedGeneration;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GeneratedToken;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import io.disagg.proto.v1.Timing;
import io.disagg.proto.v1.TokenLogprob;
import io.disagg.proto.v1.Usage;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * SIMULATOR, not a model: a deterministic stand-in for the router behind {@link InferenceService}, for testing the
 * HTTP front end before (and besides) the real cluster.
 *
 * <p>What it simulates:
 * <ul>
 *   <li>Tokenizer: a prompt is BOS plus one token per whitespace-separated word; token-id prompts count as given.</li>
 *   <li>Generation: one of {@link #WORDS} per token (text {@code " " + word}), drawn from a generator seeded by the
 *       prompt and the request's seed (or a per-service sequence when unseeded); temperature 0 ignores the seed, like
 *       greedy decoding. Stop strings are matched across token boundaries with hold-back, like the engine.</li>
 *   <li>Logprobs: a fixed function of the token id; alternatives are neighbouring words, the sampled one first.</li>
 *   <li>KV blocks: a generation holds {@code ceil((prompt + generated) / 16)} blocks until it ends or is cancelled,
 *       so tests can observe that a disconnect frees them.</li>
 *   <li>Faults: fail new generations with a status, fail mid-stream, or pause after some tokens until resumed.</li>
 * </ul>
 * One chunk per token; the last chunk carries finish reason, usage, timing and served_by, then {@code onCompleted}.
 * Work runs on one daemon thread, in order.
 */
public final class SimulatedInferenceService implements InferenceService, AutoCloseable {
  public static final List<String> WORDS = List.of("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta",
      "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "omicron", "pi");
  public static final int VOCAB_SIZE = 1000;
  public static final int EOS_ID = 999;
  public static final int BLOCK_TOKENS = 16;
  /** Prompts this long or longer are "served disaggregated" in served_by. */
  public static final int DISAGG_THRESHOLD = 8;
  /** The default {@code max_tokens}, as the router's. */
  public static final int DEFAULT_MAX_TOKENS = 256;
  private final AtomicInteger tokenizerCalls = new AtomicInteger();

  private final ModelDescription model;
  private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "simulated-inference");
    t.setDaemon(true);
    return t;
  });
  private final AtomicLong unseeded = new AtomicLong(0x5EED);
  private final AtomicInteger kvBlocksInUse = new AtomicInteger();
  private final AtomicInteger active = new AtomicInteger();
  private final Queue<GenerateRequest> requests = new ConcurrentLinkedQueue<>();
  private final BlockingQueue<String> cancelled = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> paused = new LinkedBlockingQueue<>();
  private volatile boolean ready = true;
  private volatile Status failNew;
  private volatile Status failMidStream;
  private volatile int failAfterTokens;
  private volatile int pauseAfterTokens = -1;
  private volatile int eosAfterTokens = Integer.MAX_VALUE;
  private volatile CompletableFuture<Void> gate = new CompletableFuture<>();

  public SimulatedInferenceService(String name, int contextLength, String chatTemplate) {
    this.model = ModelDescription.newBuilder()
        .setName(name)
        .setArchitecture("simulated")
        .setContextLength(contextLength)
        .setVocabSize(VOCAB_SIZE)
        .setFingerprint("sim-" + name)
        .setChatTemplate(chatTemplate)
        .setBosTokenId(1)
        .setEosTokenId(EOS_ID)
        .build();
  }

  // ---- knobs ----

  public void ready(boolean ready) {
    this.ready = ready;
  }

  /** New generations fail with {@code status} (null restores normal behaviour). */
  public void failNewGenerations(Status status) {
    this.failNew = status;
  }

  /** Generations fail with {@code status} after emitting {@code afterTokens} tokens (null restores). */
  public void failMidStream(Status status, int afterTokens) {
    this.failMidStream = status;
    this.failAfterTokens = afterTokens;
  }

  /** Generations stop and wait after {@code afterTokens} tokens until {@link #resume()} or cancellation. */
  public void pauseAfter(int afterTokens) {
    this.pauseAfterTokens = afterTokens;
  }

  /** Lets paused generations go on, and stops pausing new ones. */
  public void resume() {
    pauseAfterTokens = -1;
    gate.complete(null);
    gate = new CompletableFuture<>();
  }

  /** Generations end with EOS (finish reason stop) after this many tokens. */
  public void eosAfter(int tokens) {
    this.eosAfterTokens = tokens;
  }

  // ---- observations ----

  public int kvBlocksInUse() {
    return kvBlocksInUse.get();
  }

  public int activeGenerations() {
    return active.get();
  }

  /** Every request received, in arrival order. */
  public List<GenerateRequest> requests() {
    return List.copyOf(requests);
  }

  /** Request ids of cancelled generations, as they are cancelled. */
  public BlockingQueue<String> cancellations() {
    return cancelled;
  }

  /** Request ids of generations that reached their pause point. */
  public BlockingQueue<String> pauses() {
    return paused;
  }

  /** The simulated text of one token id. */
  public static String tokenText(int id) {
    return id < WORDS.size() ? " " + WORDS.get(id) : id == EOS_ID ? "" : " <" + id + ">";
  }

  // ---- InferenceService ----

  @Override
  public ModelDescription model() {
    return model;
  }

  @Override
  public boolean ready() {
    return ready;
  }

  /** Simulated tokenizer calls so far: one per text prompt that went through {@link #prepare}. */
  public int tokenizerCalls() {
    return tokenizerCalls.get();
  }

  /**
   * Validates as the router does (vocabulary, context length) and resolves the default {@code max_tokens}, the
   * router's {@value #DEFAULT_MAX_TOKENS} clipped to the room left in the context.
   */
  @Override
  public PreparedGeneration prepare(GenerateRequest request) {
    int promptTokens;
    if (request.hasTokenIds()) {
      List<Integer> ids = request.getTokenIds().getIdsList();
      for (int i = 0; i < ids.size(); i++) {
        if (Integer.toUnsignedLong(ids.get(i)) >= VOCAB_SIZE) {
          throw Status.INVALID_ARGUMENT.withDescription("prompt.token_ids[%d]: %d (expected: < %d, the vocabulary size)"
              .formatted(i, Integer.toUnsignedLong(ids.get(i)), VOCAB_SIZE)).asRuntimeException();
        }
      }
      promptTokens = ids.size();
    } else {
      tokenizerCalls.incrementAndGet();
      promptTokens = 1 + words(request.getText());
    }
    int context = model.getContextLength();
    if (promptTokens >= context) {
      throw Status.OUT_OF_RANGE.withDescription("prompt: %d tokens (expected: < %d, the context length)"
          .formatted(promptTokens, context)).asRuntimeException();
    }
    int room = context - promptTokens;
    if (Integer.toUnsignedLong(request.getMaxTokens()) > room) {
      throw Status.OUT_OF_RANGE.withDescription("max_tokens: %d (expected: <= %d)"
          .formatted(Integer.toUnsignedLong(request.getMaxTokens()), room)).asRuntimeException();
    }
    int maxTokens = request.getMaxTokens() == 0 ? Math.min(DEFAULT_MAX_TOKENS, room) : request.getMaxTokens();
    return new Prepared(request.toBuilder().setMaxTokens(maxTokens).build(), promptTokens);
  }

  @Override
  public Cancellable generate(PreparedGeneration prepared, StreamObserver<GenerateChunk> observer) {
    if (!(prepared instanceof Prepared p)) {
      throw new IllegalArgumentException("prepared: " + prepared + " (expected: made by this service's prepare)");
    }
    GenerateRequest request = p.request();
    requests.add(request);
    Generation g = new Generation(request, p.promptTokens(), observer);
    executor.execute(g::begin);
    return g::cancel;
  }

  private record Prepared(GenerateRequest request, int promptTokens) implements PreparedGeneration {
    @Override
    public String requestId() {
      return request.getRequestId();
    }

    @Override
    public int maxTokens() {
      return request.getMaxTokens();
    }

    @Override
    public PreparedGeneration forSample(String requestId, SamplingParams sampling) {
      return new Prepared(request.toBuilder().setRequestId(requestId).setSampling(sampling).build(), promptTokens);
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
  }

  private static int words(String text) {
    String trimmed = text.strip();
    return trimmed.isEmpty() ? 0 : trimmed.split("\\s+").length;
  }

  private final class Generation {
    private final GenerateRequest request;
    private final StreamObserver<GenerateChunk> observer;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final SplittableRandom random;
    private final int promptTokens;
    private final int maxTokens;
    private final StringBuilder emitted = new StringBuilder();
    private final StringBuilder held = new StringBuilder();
    private int generated;
    private int blocks;
    private String stopPrefix = "";

    Generation(GenerateRequest request, int promptTokens, StreamObserver<GenerateChunk> observer) {
      this.request = request;
      this.observer = observer;
      this.promptTokens = promptTokens;
      long promptHash = request.hasTokenIds() ? request.getTokenIds().getIdsList().hashCode()
          : request.getText().hashCode();
      boolean greedy = request.getSampling().getTemperature() == 0;
      long seed = greedy ? 0 : request.getSampling().getHasSeed() ? request.getSampling().getSeed()
          : unseeded.getAndIncrement();
      this.random = new SplittableRandom(promptHash * 31 + seed);
      int room = model.getContextLength() - promptTokens;
      this.maxTokens = Math.min(request.getMaxTokens(), room);
    }

    void begin() {
      if (failNew != null) {
        end(() -> observer.onError(failNew.asRuntimeException()));
        return;
      }
      active.incrementAndGet();
      blocks = blocksFor(promptTokens);
      kvBlocksInUse.addAndGet(blocks);
      step();
    }

    private void step() {
      while (!ended.get()) {
        if (failMidStream != null && generated == failAfterTokens) {
          Status status = failMidStream;
          if (release()) {
            observer.onError(status.asRuntimeException());
          }
          return;
        }
        if (pauseAfterTokens >= 0 && generated == pauseAfterTokens) {
          CompletableFuture<Void> waitFor = gate;
          paused.add(request.getRequestId());
          waitFor.thenRunAsync(this::step, executor);
          return;
        }
        if (generated >= eosAfterTokens) {
          finish(FinishReason.FINISH_REASON_STOP, List.of(EOS_ID), flushHeld());
          return;
        }
        int id = random.nextInt(WORDS.size());
        generated++;
        growBlocks();
        String delta = acceptText(tokenText(id));
        if (delta == null) {
          finish(FinishReason.FINISH_REASON_STOP, List.of(id), stopPrefix);
          return;
        }
        if (generated >= maxTokens) {
          finish(FinishReason.FINISH_REASON_LENGTH, List.of(id), delta + flushHeld());
          return;
        }
        observer.onNext(chunk(List.of(id), delta).build());
      }
    }

    /** Returns the text that may be emitted now, or null at a stop string (the text before it is in stopPrefix). */
    private String acceptText(String text) {
      held.append(text);
      String pending = held.toString();
      for (String stop : request.getStopList()) {
        int at = pending.indexOf(stop);
        if (at >= 0) {
          stopPrefix = pending.substring(0, at);
          return null;
        }
      }
      int keep = 0;
      for (String stop : request.getStopList()) {
        for (int k = Math.min(stop.length() - 1, pending.length()); k > keep; k--) {
          if (pending.endsWith(stop.substring(0, k))) {
            keep = k;
            break;
          }
        }
      }
      String out = pending.substring(0, pending.length() - keep);
      held.delete(0, out.length());
      emitted.append(out);
      return out;
    }

    private String flushHeld() {
      String rest = held.toString();
      held.setLength(0);
      return rest;
    }

    private void finish(FinishReason reason, List<Integer> ids, String delta) {
      GenerateChunk.Builder last = chunk(ids, delta)
          .setFinishReason(reason)
          .setUsage(Usage.newBuilder().setPromptTokens(promptTokens).setCompletionTokens(generated))
          .setTiming(Timing.newBuilder().setQueuedUs(10).setPrefillUs(100L * promptTokens)
              .setKvTransferUs(promptTokens >= DISAGG_THRESHOLD ? 50 : 0).setFirstTokenUs(200)
              .setDecodeUs(20L * generated).setTotalUs(300 + 20L * generated)
              .setKvTransferBytes(promptTokens >= DISAGG_THRESHOLD ? 4096L * promptTokens : 0))
          .setServedBy(promptTokens >= DISAGG_THRESHOLD
              ? ServedBy.newBuilder().setMode(ServeMode.SERVE_MODE_DISAGGREGATED).setReason("prompt_above_threshold")
                  .setPrefillWorker("sim-prefill-0").setDecodeWorker("sim-decode-0").build()
              : ServedBy.newBuilder().setMode(ServeMode.SERVE_MODE_COLOCATED).setReason("prompt_below_threshold")
                  .setDecodeWorker("sim-decode-0").build());
      if (release()) {
        observer.onNext(last.build());
        observer.onCompleted();
      }
    }

    private GenerateChunk.Builder chunk(List<Integer> ids, String text) {
      GenerateChunk.Builder b = GenerateChunk.newBuilder().setRequestId(request.getRequestId())
          .addAllTokenIds(ids).setTextDelta(text);
      if (request.getLogprobs()) {
        for (int id : ids) {
          GeneratedToken.Builder t = GeneratedToken.newBuilder().setTokenId(id).setLogprob(logprob(id));
          for (int j = 0; j < request.getTopLogprobs(); j++) {
            int alt = (id + j) % WORDS.size();
            t.addTop(TokenLogprob.newBuilder().setTokenId(alt).setText(tokenText(alt)).setLogprob(logprob(alt) - j));
          }
          b.addTokens(t);
        }
      }
      return b;
    }

    private void growBlocks() {
      int need = blocksFor(promptTokens + generated);
      if (need > blocks) {
        kvBlocksInUse.addAndGet(need - blocks);
        blocks = need;
      }
    }

    /** Frees the KV blocks exactly once; false when the generation already ended. */
    private boolean release() {
      if (!ended.compareAndSet(false, true)) {
        return false;
      }
      kvBlocksInUse.addAndGet(-blocks);
      active.decrementAndGet();
      return true;
    }

    private void end(Runnable terminal) {
      if (ended.compareAndSet(false, true)) {
        terminal.run();
      }
    }

    void cancel() {
      executor.execute(() -> {
        if (release()) {
          cancelled.add(request.getRequestId());
          observer.onError(Status.CANCELLED.withDescription("cancelled by client").asRuntimeException());
        }
      });
    }
  }

  private static float logprob(int id) {
    return -0.1f - (id % 5) * 0.2f;
  }

  private static int blocksFor(int tokens) {
    return (tokens + BLOCK_TOKENS - 1) / BLOCK_TOKENS;
  }
}
