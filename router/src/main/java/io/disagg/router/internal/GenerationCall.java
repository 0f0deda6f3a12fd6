package io.disagg.router.internal;

import io.disagg.backend.spi.Tokenizer;
import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GeneratedToken;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.ReleaseKvRequest;
import io.disagg.proto.v1.ReleaseKvResponse;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import io.disagg.proto.v1.Timing;
import io.disagg.proto.v1.TokenLogprob;
import io.disagg.proto.v1.Usage;
import io.disagg.router.ClassifierInput;
import io.disagg.router.GenerateCall;
import io.disagg.router.ServeDecision;
import io.disagg.router.ServeReasons;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One generation through the cluster, as a chain of asynchronous stages:
 *
 * <pre>
 *   classify ─ disaggregated ─► ReserveKv(D) ─► Prefill(P) ─► Decode(D, reservation, first token) ─► client
 *            └ colocated ─────────────────────────────────► Decode(D) ───────────────────────────► client
 * </pre>
 *
 * <p>Each stage tries workers in the selector's order and moves to the next one on RESOURCE_EXHAUSTED or UNAVAILABLE
 * (at most {@code maxAttempts} per stage). ReserveKv and Prefill (a prefill that failed before its KV transfer
 * started) wait an exponential backoff with jitter before the next attempt (Resilience4j {@link Retry}); a colocated
 * Decode moves on at once. Every worker RPC takes a permit from that worker's circuit breaker and reports its outcome
 * to it; a worker whose breaker is open is skipped. Nothing is retried once a token reached the client. When every prefill
 * worker fails, the decode worker holding the reservation releases it and serves the request colocated (unless the
 * client forced disaggregation).
 *
 * <p>Termination: exactly one terminal event reaches the client ({@link #emit} with the final chunk, or
 * {@link #fail}). Whatever ends the call cancels the worker RPC in flight and, if a KV reservation was granted and not
 * consumed by a finished decode, sends ReleaseKv. Stage callbacks run on gRPC threads one after another (each stage
 * is started from the previous one's callback), so stage fields need no lock; {@link #lock} guards what
 * {@link #cancel()} may touch concurrently.
 */
public final class GenerationCall implements GenerateCall {
  private static final Logger log = LoggerFactory.getLogger(GenerationCall.class);

  private final RouterContext ctx;
  private final Downstream down;
  private final long arrivalNanos;
  private final Deadline deadline;
  private final PreparedRequest req;
  private final StatusException invalid;
  private final String requestId;
  private final Runnable onEnd;

  private final Object lock = new Object();
  private boolean terminated; // guarded by lock
  private ClientCallStreamObserver<?> active; // guarded by lock
  private Reservation reservation; // guarded by lock

  // Stage state: written and read by the stage chain only.
  private volatile ServeDecision decision; // also read by cancel() for metrics
  private WorkerHandle prefillWorker;
  private WorkerHandle decodeWorker;
  /** Per worker id, prompt tokens its prefix cache holds; set before the first stage starts. */
  private Map<String, Integer> cachedPrefixTokens = Map.of();
  private PrefillResponse prefill;
  private long dispatchNanos;
  private long firstTokenNanos = -1;
  private long lastTokenNanos = -1;
  private Retry.AsyncContext<Object> reserveRetry;
  private Retry.AsyncContext<Object> prefillRetry;
  private int completionTokens;
  /** The token before the next generated one (the last prompt token at first), for rendering token texts. */
  private int previousToken = -1;
  private long workerQueuedUs;
  private long workerPrefillUs;
  private int cachedPromptTokens;
  private final List<String> failures = new ArrayList<>();
  private boolean sawNoRoom;

  private record Reservation(WorkerHandle decode, String id) {}

  /**
   * Validates and tokenizes the request; nothing is sent until {@link #start()}.
   *
   * @param deadline when the whole generation must be over; propagated to every worker RPC
   */
  public GenerationCall(RouterContext ctx, RequestValidator validator, io.disagg.proto.v1.GenerateRequest request,
      Deadline deadline, StreamObserver<GenerateChunk> observer) {
    this(ctx, validator, request, deadline, observer, () -> {});
  }

  /**
   * @param onEnd runs once when the call ends, however it ends (the front door frees its bulkhead slot)
   */
  public GenerationCall(RouterContext ctx, RequestValidator validator, io.disagg.proto.v1.GenerateRequest request,
      Deadline deadline, StreamObserver<GenerateChunk> observer, Runnable onEnd) {
    this.ctx = ctx;
    this.onEnd = onEnd;
    this.arrivalNanos = ctx.ticker().nanoTime();
    this.deadline = deadline;
    this.down = new Downstream(observer);
    PreparedRequest prepared = null;
    StatusException error = null;
    try {
      prepared = validator.prepare(request);
    } catch (StatusException e) {
      error = e;
    }
    this.req = prepared;
    this.invalid = error;
    if (prepared != null && !prepared.promptTokenIds().isEmpty()) {
      previousToken = prepared.promptTokenIds().getLast();
    }
    this.requestId = prepared != null ? prepared.requestId() : request.getRequestId();
  }

  @Override
  public String requestId() {
    return requestId;
  }

  /** The prompt as the model sees it; empty when the request was invalid. */
  public List<Integer> promptTokenIds() {
    return req == null ? List.of() : req.promptTokenIds();
  }

  @Override
  public void cancel() {
    fail(Status.CANCELLED.withDescription("request " + requestId + " cancelled by the client"));
  }

  /** Sends the request on its way. Returns at once; the observer hears the rest. */
  public void start() {
    if (invalid != null) {
      fail(invalid.getStatus());
      return;
    }
    if (deadline.isExpired()) {
      fail(Status.DEADLINE_EXCEEDED.withDescription("request " + requestId + " arrived after its deadline"));
      return;
    }
    try {
      route();
    } catch (RuntimeException e) {
      log.error("request {} failed in the router", requestId, e);
      fail(Status.INTERNAL.withDescription("router error: " + e).withCause(e));
    }
  }

  private void route() {
    List<WorkerSnapshot> decodes = ctx.registry().inRotation(WorkerRole.DECODE);
    if (decodes.isEmpty()) {
      fail(Status.UNAVAILABLE.withDescription("no decode worker is in rotation (" + outOfRotation(WorkerRole.DECODE)
          + ")"));
      return;
    }
    Set<String> decodeFingerprints = new HashSet<>();
    decodes.forEach(d -> decodeFingerprints.add(d.modelFingerprint()));
    List<WorkerSnapshot> prefills = ctx.registry().inRotation(WorkerRole.PREFILL).stream()
        .filter(p -> decodeFingerprints.contains(p.modelFingerprint()))
        .toList();
    ServeMode forced = req.forcedMode();
    if (forced == ServeMode.SERVE_MODE_DISAGGREGATED) {
      if (prefills.isEmpty()) {
        fail(Status.UNAVAILABLE.withDescription("force_mode is DISAGGREGATED but no prefill worker serving the decode"
            + " workers' model is in rotation (" + outOfRotation(WorkerRole.PREFILL) + ")"));
        return;
      }
      decision = ServeDecision.disaggregated(ServeReasons.FORCED);
    } else if (forced == ServeMode.SERVE_MODE_COLOCATED) {
      decision = ServeDecision.colocated(ServeReasons.FORCED);
    }
    List<WorkerSnapshot> candidates = new ArrayList<>(decodes);
    candidates.addAll(prefills);
    Map<String, Integer> cached = ctx.prefixCache().cachedPrefixTokens(candidates, req.promptTokenIds());
    cachedPrefixTokens = cached;
    List<WorkerSnapshot> rankedDecodes = ctx.selector().rank(WorkerRole.DECODE, decodes, req.facts(), cached);
    if (decision == null) {
      decision = ctx.classifier().classify(
          new ClassifierInput(req.facts(), prefills, rankedDecodes, cached, ctx.costs()));
      if (decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED && prefills.isEmpty()) {
        decision = ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER);
      }
    }
    ctx.metrics().decided(modeTag(), decision.reason());
    if (decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED) {
      reserve(rankedDecodes, 0, prefills);
    } else {
      colocated(rankedDecodes, 0);
    }
  }

  // ---- disaggregated: ReserveKv on a decode worker -------------------------------------------------------------

  private void reserve(List<WorkerSnapshot> decodes, int attempt, List<WorkerSnapshot> prefills) {
    if (attempt >= Math.min(ctx.maxAttempts(), decodes.size())) {
      failNoDecodeWorker();
      return;
    }
    WorkerSnapshot d = decodes.get(attempt);
    WorkerHandle dh = ctx.registry().get(WorkerRole.DECODE, d.id());
    Permit permit = acquire(dh);
    if (permit == null) {
      reserve(decodes, attempt + 1, prefills);
      return;
    }
    ReserveKvRequest request = ReserveKvRequest.newBuilder()
        .setRequestId(requestId)
        .setModelFingerprint(d.modelFingerprint())
        .setPromptTokens(req.promptTokens())
        .setMaxNewTokens(req.maxTokens())
        .build();
    unary(o -> dh.decodeStub().withDeadline(deadline).reserveKv(request, o), new Unary<ReserveKvResponse>() {
      @Override
      public void onValue(ReserveKvResponse response) {
        permit.outcome(Status.OK);
        boolean live;
        synchronized (lock) {
          live = !terminated;
          if (live) {
            reservation = new Reservation(dh, response.getReservationId());
          }
        }
        if (!live) {
          release(new Reservation(dh, response.getReservationId()));
          return;
        }
        decodeWorker = dh;
        List<WorkerSnapshot> matching = prefills.stream()
            .filter(p -> p.modelFingerprint().equals(d.modelFingerprint()))
            .toList();
        if (matching.isEmpty()) {
          fallBackToColocated(dh, decodes, ServeReasons.NO_PREFILL_WORKER);
          return;
        }
        prefill(dh, response.getKvAddress(), ctx.selector().rank(WorkerRole.PREFILL, matching, req.facts(), cachedPrefixTokens), 0,
            decodes);
      }

      @Override
      public void onFailure(Status status) {
        permit.outcome(status);
        if (isTerminated()) {
          return;
        }
        if (refusedOrUnreachable(dh, status)) {
          if (reserveRetry == null) {
            reserveRetry = ctx.resilience().retry().asyncContext();
          }
          retryAfterBackoff(reserveRetry, status, attempt + 1 < decodes.size(),
              () -> reserve(decodes, attempt + 1, prefills), () -> failNoDecodeWorker());
        } else {
          fail(describe(status, "decode worker " + dh.id() + " failed ReserveKv"));
        }
      }
    });
  }

  // ---- disaggregated: Prefill on a prefill worker ----------------------------------------------------------------

  private void prefill(WorkerHandle dh, String kvAddress, List<WorkerSnapshot> prefills, int attempt,
      List<WorkerSnapshot> decodes) {
    if (attempt >= Math.min(ctx.maxAttempts(), prefills.size())) {
      prefillExhausted(dh, decodes, null);
      return;
    }
    WorkerSnapshot p = prefills.get(attempt);
    WorkerHandle ph = ctx.registry().get(WorkerRole.PREFILL, p.id());
    Permit permit = acquire(ph);
    if (permit == null) {
      prefill(dh, kvAddress, prefills, attempt + 1, decodes);
      return;
    }
    String reservationId;
    synchronized (lock) {
      reservationId = reservation == null ? "" : reservation.id();
    }
    PrefillRequest request = PrefillRequest.newBuilder()
        .setRequestId(requestId)
        .addAllPromptTokenIds(req.promptTokenIds())
        .setSampling(req.request().getSampling())
        .setDecodeTarget(kvAddress)
        .setReservationId(reservationId)
        .setLogprobs(req.request().getLogprobs())
        .setTopLogprobs(req.request().getTopLogprobs())
        .build();
    dispatchNanos = ctx.ticker().nanoTime();
    prefillWorker = ph;
    ph.started(req.promptTokens());
    unary(o -> ph.prefillStub().withDeadline(deadline).prefill(request, o), new Unary<PrefillResponse>() {
      @Override
      public void onValue(PrefillResponse response) {
        permit.outcome(Status.OK);
        ph.finished(req.promptTokens());
        measurePrefill(ph, dh, response);
        if (isTerminated()) {
          return;
        }
        prefill = response;
        decodeDisaggregated(dh, response);
      }

      @Override
      public void onFailure(Status status) {
        permit.outcome(status);
        ph.finished(req.promptTokens());
        if (isTerminated()) {
          return;
        }
        // RESOURCE_EXHAUSTED and UNAVAILABLE mean the prefill worker refused or was never reached: no KV was pushed
        // into the reservation, so the prefill may run again on another worker.
        if (refusedOrUnreachable(ph, status)) {
          if (prefillRetry == null) {
            prefillRetry = ctx.resilience().retry().asyncContext();
          }
          retryAfterBackoff(prefillRetry, status, attempt + 1 < prefills.size(),
              () -> prefill(dh, kvAddress, prefills, attempt + 1, decodes), () -> prefillExhausted(dh, decodes, null));
        } else if (clientCaused(status)) {
          fail(describe(status, "prefill worker " + ph.id() + " failed Prefill"));
        } else {
          failures.add(ph.id() + ": " + brief(status));
          prefillExhausted(dh, decodes, status);
        }
      }
    });
  }

  private void prefillExhausted(WorkerHandle dh, List<WorkerSnapshot> decodes, Status last) {
    prefillWorker = null;
    if (decision.reason().equals(ServeReasons.FORCED)) {
      Status code = last != null ? last : sawNoRoom ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE;
      fail(code.withDescription("force_mode is DISAGGREGATED and no prefill worker could take the request: "
          + String.join("; ", failures)));
      return;
    }
    log.info("request {}: every prefill worker failed ({}); serving it colocated on {}", requestId,
        String.join("; ", failures), dh.id());
    fallBackToColocated(dh, decodes, ServeReasons.PREFILL_FAILED_FALLBACK_COLOCATED);
  }

  private void fallBackToColocated(WorkerHandle dh, List<WorkerSnapshot> decodes, String reason) {
    Reservation held;
    synchronized (lock) {
      held = reservation;
      reservation = null;
    }
    if (held != null) {
      release(held);
    }
    decision = ServeDecision.colocated(reason);
    ctx.metrics().decided(modeTag(), reason);
    // The worker that granted the reservation had room a moment ago: try it first.
    List<WorkerSnapshot> order = new ArrayList<>();
    decodes.stream().filter(d -> d.id().equals(dh.id())).forEach(order::add);
    decodes.stream().filter(d -> !d.id().equals(dh.id())).forEach(order::add);
    failures.clear();
    sawNoRoom = false;
    colocated(order, 0);
  }

  private void decodeDisaggregated(WorkerHandle dh, PrefillResponse response) {
    String reservationId;
    synchronized (lock) {
      reservationId = reservation == null ? "" : reservation.id();
    }
    DecodeRequest request = decodeRequest().setReservationId(reservationId)
        .setFirstToken(response.getFirstToken())
        .build();
    decode(dh, request, null);
  }

  // ---- colocated: Decode alone ----------------------------------------------------------------------------------

  private void colocated(List<WorkerSnapshot> decodes, int attempt) {
    if (attempt >= Math.min(ctx.maxAttempts(), decodes.size())) {
      failNoDecodeWorker();
      return;
    }
    WorkerHandle dh = ctx.registry().get(WorkerRole.DECODE, decodes.get(attempt).id());
    dispatchNanos = ctx.ticker().nanoTime();
    decode(dh, decodeRequest().build(), () -> colocated(decodes, attempt + 1));
  }

  private DecodeRequest.Builder decodeRequest() {
    return DecodeRequest.newBuilder()
        .setRequestId(requestId)
        .addAllPromptTokenIds(req.promptTokenIds())
        .setSampling(req.request().getSampling())
        .setMaxTokens(req.maxTokens())
        .addAllStop(req.request().getStopList())
        .setLogprobs(req.request().getLogprobs())
        .setTopLogprobs(req.request().getTopLogprobs())
        .setPriority(req.request().getPriority());
  }

  /**
   * Streams a Decode to the client.
   *
   * @param retry tries the next worker when this one refuses before its first chunk; null when the request cannot
   *     move (its KV cache already lives on this worker)
   */
  private void decode(WorkerHandle dh, DecodeRequest request, Runnable retry) {
    decodeWorker = dh;
    Permit permit = acquire(dh);
    if (permit == null) {
      if (retry != null) {
        retry.run();
      } else {
        fail(Status.UNAVAILABLE.withDescription("decode worker " + dh.id()
            + " holding the request's KV cache has an open circuit breaker"));
      }
      return;
    }
    dh.started(req.promptTokens());
    ClientResponseObserver<DecodeRequest, DecodeChunk> observer = new ClientResponseObserver<>() {
      private ClientCallStreamObserver<DecodeRequest> upstream;
      private boolean sawChunk;
      private boolean sawFinish;
      private boolean ended;

      @Override
      public void beforeStart(ClientCallStreamObserver<DecodeRequest> call) {
        upstream = call;
        call.disableAutoRequestWithInitial(1);
        attach(call);
      }

      @Override
      public void onNext(DecodeChunk chunk) {
        if (sawFinish) {
          return;
        }
        sawChunk = true;
        sawFinish = chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
        forward(chunk);
        // Ask for the next chunk only when the client can take it: backpressure reaches the decode worker.
        ClientCallStreamObserver<DecodeRequest> call = upstream;
        if (sawFinish) {
          call.request(1);
        } else {
          down.whenReady(() -> call.request(1));
        }
      }

      @Override
      public void onError(Throwable t) {
        end();
        Status status = fromWorker(Status.fromThrowable(t));
        permit.outcome(status);
        if (sawFinish || isTerminated()) {
          return;
        }
        if (!sawChunk && retry != null && refusedOrUnreachable(dh, status)) {
          retry.run();
          return;
        }
        if (status.getCode() == Status.Code.UNAVAILABLE) {
          dh.markUnreachable("decode failed: " + brief(status));
        }
        String what = "decode worker " + dh.id() + " failed Decode"
            + (sawChunk ? " after " + completionTokens + " tokens" : "");
        fail(describe(status, what));
      }

      @Override
      public void onCompleted() {
        end();
        permit.outcome(sawFinish ? Status.OK : Status.INTERNAL);
        if (!sawFinish) {
          fail(Status.INTERNAL.withDescription("decode worker " + dh.id()
              + " ended the stream without a finish reason after " + completionTokens + " tokens"));
        }
      }

      private void end() {
        if (!ended) {
          ended = true;
          dh.finished(req.promptTokens());
        }
      }
    };
    Context.ROOT.run(() -> dh.decodeStub().withDeadline(deadline).decode(request, observer));
  }

  private void forward(DecodeChunk chunk) {
    GenerateChunk.Builder out = GenerateChunk.newBuilder().setRequestId(requestId).setTextDelta(chunk.getTextDelta());
    boolean details = req.wantsTokenDetails();
    for (GeneratedToken token : chunk.getTokensList()) {
      out.addTokenIds(token.getTokenId());
      if (details) {
        out.addTokens(withText(token, previousToken));
      }
      previousToken = token.getTokenId();
    }
    completionTokens += chunk.getTokensCount();
    workerQueuedUs = Math.max(workerQueuedUs, chunk.getQueuedUs());
    workerPrefillUs = Math.max(workerPrefillUs, chunk.getPrefillUs());
    cachedPromptTokens = Math.max(cachedPromptTokens, chunk.getCachedPromptTokens());
    long now = ctx.ticker().nanoTime();
    if (firstTokenNanos < 0 && chunk.getTokensCount() > 0) {
      firstTokenNanos = now;
    } else if (lastTokenNanos >= 0 && chunk.getTokensCount() > 0) {
      ctx.metrics().interToken(now - lastTokenNanos, chunk.getTokensCount());
    }
    if (chunk.getTokensCount() > 0) {
      lastTokenNanos = now;
    }
    boolean last = chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
    if (last) {
      if (firstTokenNanos < 0) {
        firstTokenNanos = now;
      }
      Timing timing = timing(now);
      if (prefill == null && decodeWorker != null) {
        ctx.costs().recordPrefill(decodeWorker.id(), WorkerRole.DECODE, req.promptTokens() - cachedPromptTokens,
            workerPrefillUs);
      }
      out.setFinishReason(chunk.getFinishReason())
          .setUsage(usage())
          .setTiming(timing)
          .setServedBy(servedBy());
    }
    emit(out.build(), last);
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
    Tokenizer tokenizer = ctx.model().tokenizer();
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

  private Usage usage() {
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

  private static long micros(long nanos) {
    return Math.max(0L, TimeUnit.NANOSECONDS.toMicros(nanos));
  }

  // ---- termination ------------------------------------------------------------------------------------------------

  private void emit(GenerateChunk chunk, boolean last) {
    RuntimeException broken = null;
    synchronized (lock) {
      if (terminated) {
        return;
      }
      if (last) {
        terminated = true;
        active = null;
        reservation = null; // consumed by a finished decode: the worker freed it with the sequence
        ctx.metrics().finished(firstTokenNanos - arrivalNanos, ctx.ticker().nanoTime() - arrivalNanos,
            ctx.ticker().nanoTime() - firstTokenNanos, completionTokens);
        ctx.metrics().ended(modeTag(), decision.reason(), chunk.getFinishReason().name());
        ctx.metrics().promptTokens(req.promptTokens(), usage().getCachedPromptTokens());
      }
      try {
        down.observer().onNext(chunk);
        if (last) {
          down.observer().onCompleted();
        }
      } catch (RuntimeException e) {
        broken = e;
      }
    }
    if (last) {
      onEnd.run();
    }
    if (broken != null) {
      // The client side cannot take more (a cancelled server call, a failing in-process observer): stop the workers.
      log.debug("request {}: client observer failed: {}", requestId, broken.toString());
      fail(Status.CANCELLED.withDescription("the client stopped accepting chunks").withCause(broken));
    }
  }

  /** Ends the call with {@code status} unless it already ended; cancels the RPC in flight and frees the reservation. */
  private void fail(Status status) {
    ClientCallStreamObserver<?> call;
    Reservation held;
    synchronized (lock) {
      if (terminated) {
        return;
      }
      terminated = true;
      call = active;
      active = null;
      held = reservation;
      reservation = null;
      ServeDecision d = decision;
      ctx.metrics().ended(modeTag(), d == null ? "none" : d.reason(), status.getCode().name());
      ctx.metrics().failed(status.getCode().name());
      // Free the decode worker's blocks before the client hears of the failure: a client that retries at once (or
      // falls back to colocated) must not find them still reserved for the request that just failed.
      if (held != null) {
        release(held);
      }
      try {
        down.observer().onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        log.debug("request {}: client already gone: {}", requestId, e.toString());
      }
    }
    onEnd.run();
    if (status.getCode() != Status.Code.CANCELLED) {
      log.debug("request {} failed: {}", requestId, status);
    }
    if (call != null) {
      call.cancel("request " + requestId + " ended: " + status.getCode(), null);
    }
  }

  private void attach(ClientCallStreamObserver<?> call) {
    boolean ended;
    synchronized (lock) {
      ended = terminated;
      if (!ended) {
        active = call;
      }
    }
    if (ended) {
      call.cancel("request " + requestId + " already ended", null);
    }
  }

  private void release(Reservation held) {
    ReleaseKvRequest request = ReleaseKvRequest.newBuilder().setReservationId(held.id()).build();
    StreamObserver<ReleaseKvResponse> observer = new StreamObserver<>() {
      @Override
      public void onNext(ReleaseKvResponse value) {}

      @Override
      public void onError(Throwable t) {
        log.debug("request {}: ReleaseKv {} on {} failed: {}", requestId, held.id(), held.decode().id(),
            Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {}
    };
    // A fresh deadline: the request's own may be what just expired.
    Context.ROOT.run(() -> held.decode().decodeStub()
        .withDeadlineAfter(ctx.releaseTimeout().toNanos(), TimeUnit.NANOSECONDS)
        .releaseKv(request, observer));
  }

  // ---- helpers ------------------------------------------------------------------------------------------------------

  /** One RPC's claim on a worker's circuit breaker; reports the RPC's outcome to it exactly once. */
  private final class Permit {
    private final CircuitBreaker breaker;
    private final long startNanos = ctx.ticker().nanoTime();
    private boolean reported;

    Permit(CircuitBreaker breaker) {
      this.breaker = breaker;
    }

    synchronized void outcome(Status status) {
      if (reported) {
        return;
      }
      reported = true;
      long nanos = Math.max(0L, ctx.ticker().nanoTime() - startNanos);
      if (status.isOk()) {
        breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
      } else if (status.getCode() == Status.Code.CANCELLED && isTerminated()) {
        // The router (or its client) cancelled the call: says nothing about the worker.
        breaker.releasePermission();
      } else {
        // The breaker's own predicate decides whether this code counts as a failure (see Resilience).
        breaker.onError(nanos, TimeUnit.NANOSECONDS, status.asRuntimeException());
      }
    }
  }

  /** A permit on {@code worker}'s breaker, or null (recorded as a failure of this stage) when it is open. */
  private Permit acquire(WorkerHandle worker) {
    if (worker.breaker().tryAcquirePermission()) {
      return new Permit(worker.breaker());
    }
    failures.add(worker.id() + ": circuit breaker " + worker.breaker().getState());
    return null;
  }

  /**
   * Runs {@code next} after the retry's backoff, or {@code exhausted} when the retry budget, the candidates or the
   * deadline do not allow another attempt.
   */
  private void retryAfterBackoff(Retry.AsyncContext<Object> retry, Status status, boolean candidateLeft,
      Runnable next, Runnable exhausted) {
    long delayMillis = retry.onError(status.asRuntimeException());
    if (delayMillis < 0 || !candidateLeft) {
      exhausted.run();
      return;
    }
    if (deadline.timeRemaining(TimeUnit.MILLISECONDS) <= delayMillis) {
      fail(Status.DEADLINE_EXCEEDED.withDescription("request " + requestId + ": no time left to retry after "
          + String.join("; ", failures)));
      return;
    }
    if (delayMillis == 0) {
      next.run();
      return;
    }
    ctx.scheduler().schedule(() -> {
      if (isTerminated()) {
        return;
      }
      try {
        next.run();
      } catch (RuntimeException e) {
        log.error("request {} failed in the router", requestId, e);
        fail(Status.INTERNAL.withDescription("router error: " + e).withCause(e));
      }
    }, delayMillis, TimeUnit.MILLISECONDS);
  }

  /** Feeds the cost model and the transfer meters from a finished prefill. */
  private void measurePrefill(WorkerHandle ph, WorkerHandle dh, PrefillResponse response) {
    ctx.costs().recordPrefill(ph.id(), WorkerRole.PREFILL,
        req.promptTokens() - response.getCachedPromptTokens(), response.getPrefillUs());
    ctx.costs().recordTransfer(ph.id(), dh.id(), response.getKvTransferBytes(), response.getKvTransferUs(),
        req.promptTokens());
    ctx.metrics().transferred(ph.id(), dh.id(), response.getKvTransferBytes(), response.getKvTransferUs());
  }

  private String modeTag() {
    if (decision == null) {
      return "none";
    }
    return decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED ? "disaggregated" : "colocated";
  }

  /** Records a refusal (RESOURCE_EXHAUSTED) or an unreachable worker (UNAVAILABLE); false for anything else. */
  private boolean refusedOrUnreachable(WorkerHandle worker, Status status) {
    if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED || status.getCode() == Status.Code.UNAVAILABLE) {
      ctx.metrics().refused(worker.role(), status.getCode().name());
    }
    switch (status.getCode()) {
      case RESOURCE_EXHAUSTED -> {
        sawNoRoom = true;
        failures.add(worker.id() + ": " + brief(status));
        return true;
      }
      case UNAVAILABLE -> {
        worker.markUnreachable("request failed: " + brief(status));
        failures.add(worker.id() + ": " + brief(status));
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  /**
   * A worker RPC ending CANCELLED that the router did not cancel (those callbacks are ignored once terminated) means
   * the worker went away, e.g. its server shut down and reset the stream: to the client that is UNAVAILABLE.
   */
  private Status fromWorker(Status status) {
    if (status.getCode() == Status.Code.CANCELLED && !isTerminated()) {
      return Status.UNAVAILABLE.withDescription("the worker cancelled the call (" + brief(status) + ")")
          .withCause(status.getCause());
    }
    if (status.getCode() == Status.Code.UNKNOWN && connectionLost(status)) {
      // gRPC reports a connection that closes under a live call as UNKNOWN "channel closed" in some races (as
      // UNAVAILABLE in others): either way the worker went away, which clients and breakers must see as UNAVAILABLE.
      return Status.UNAVAILABLE.withDescription("connection to the worker lost (" + brief(status) + ")")
          .withCause(status.getCause());
    }
    return status;
  }

  private static boolean connectionLost(Status status) {
    for (Throwable t = status.getCause(); t != null; t = t.getCause()) {
      if (t instanceof java.io.IOException) {
        return true;
      }
    }
    return "channel closed".equalsIgnoreCase(status.getDescription());
  }

  private static boolean clientCaused(Status status) {
    return switch (status.getCode()) {
      case INVALID_ARGUMENT, OUT_OF_RANGE, DEADLINE_EXCEEDED, CANCELLED -> true;
      default -> false;
    };
  }

  private void failNoDecodeWorker() {
    if (sawNoRoom) {
      fail(Status.RESOURCE_EXHAUSTED.withDescription("no decode worker has room for request " + requestId + " ("
          + req.promptTokens() + " prompt + " + req.maxTokens() + " max tokens); tried " + String.join("; ", failures)));
    } else {
      fail(Status.UNAVAILABLE.withDescription("no decode worker could serve request " + requestId + "; tried "
          + String.join("; ", failures)));
    }
  }

  private String outOfRotation(WorkerRole role) {
    List<String> out = new ArrayList<>();
    for (WorkerSnapshot w : ctx.registry().snapshots(role)) {
      if (!w.inRotation()) {
        out.add(w.id() + ": " + w.outOfRotationReason());
      }
    }
    return out.isEmpty() ? "none registered" : String.join("; ", out);
  }

  private static String brief(Status status) {
    return status.getCode() + (status.getDescription() == null ? "" : " " + status.getDescription());
  }

  private static Status describe(Status status, String what) {
    return status.withDescription(what + ": " + brief(status));
  }

  /** Callbacks of a unary worker RPC. */
  private interface Unary<T> {
    void onValue(T value);

    void onFailure(Status status);
  }

  /** Starts a unary RPC outside the caller's gRPC context and registers it for cancellation. */
  private <Q, T> void unary(Consumer<StreamObserver<T>> start, Unary<T> handler) {
    ClientResponseObserver<Q, T> observer = new ClientResponseObserver<>() {
      private T value;

      @Override
      public void beforeStart(ClientCallStreamObserver<Q> call) {
        attach(call);
      }

      @Override
      public void onNext(T v) {
        value = v;
      }

      @Override
      public void onError(Throwable t) {
        handler.onFailure(fromWorker(Status.fromThrowable(t)));
      }

      @Override
      public void onCompleted() {
        if (value == null) {
          onError(Status.INTERNAL.withDescription("worker sent no response").asRuntimeException());
          return;
        }
        // A ReserveKv that succeeds after the call ended still hands back its reservation, so onValue must run.
        handler.onValue(value);
      }
    };
    // Detached from the server call's context: the router cancels worker RPCs itself (and must still send ReleaseKv
    // after the client went away).
    Context.ROOT.run(() -> start.accept(observer));
  }

  private boolean isTerminated() {
    synchronized (lock) {
      return terminated;
    }
  }
}
