package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.Usage;
import io.disagg.router.ClassifierInput;
import io.disagg.router.GenerateCall;
import io.disagg.router.ServeDecision;
import io.disagg.router.ServeReasons;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One prepared generation through the cluster, as a chain of named stages:
 *
 * <pre>
 *   classify ─ disaggregated ─► {@link ReserveStage} (D) ─► {@link PrefillStage} (P, KV pushed into D)
 *            │                     ─► early first token ─► {@link DecodeStage} (D, reservation, first token) ─► client
 *            └ colocated ─────────────────────────────────► {@link DecodeStage} (D) ─────────────────────────► client
 *   any end ─► {@link ReleaseStage} for a reservation not consumed
 * </pre>
 *
 * <p>This class only decides which stage runs next; the stages share one {@link Attempts} (candidate order, breaker
 * permits, backoff, deadline), one {@link CallState} (termination, the RPC in flight, the reservation) and one
 * {@link ChunkAssembler} (what the client receives). When every prefill worker fails, the decode worker holding the
 * reservation releases it and serves the request colocated (unless the client forced disaggregation).
 */
public final class GenerationPipeline implements GenerateCall {
  private static final Logger log = LoggerFactory.getLogger(GenerationPipeline.class);

  private final RouterContext ctx;
  private final PreparedRequest req;
  private final Deadline deadline;
  private final CallState call;
  private final Attempts attempts;
  private final ChunkAssembler chunks;
  private final ReserveStage reserve;
  private final PrefillStage prefill;
  private final DecodeStage decode;
  /** Per worker id, prompt tokens its prefix cache holds; set before the first stage starts. */
  private Map<String, Integer> cachedPrefixTokens = Map.of();

  /**
   * @param deadline when the whole generation must be over; propagated to every worker RPC
   * @param onEnd runs once when the call ends, however it ends (the front door frees its bulkhead slot)
   */
  public GenerationPipeline(RouterContext ctx, PreparedRequest req, Deadline deadline,
      StreamObserver<GenerateChunk> observer, Runnable onEnd) {
    this.ctx = ctx;
    this.req = req;
    this.deadline = deadline;
    this.chunks = new ChunkAssembler(ctx.ticker(), ctx.model().tokenizer(), req, new ChunkAssembler.Observations() {
      @Override
      public void interToken(long gapNanos, int tokens) {
        ctx.metrics().interToken(gapNanos, tokens);
      }

      @Override
      public void colocatedPrefill(WorkerHandle worker, int computedTokens, long prefillUs) {
        ctx.costs().recordPrefill(worker.id(), WorkerRole.DECODE, computedTokens, prefillUs);
      }
    });
    this.call = new CallState(req.requestId(), new Downstream(observer),
        new ReleaseStage(req.requestId(), ctx.releaseTimeout()), onEnd);
    this.call.ending(new Meters());
    this.attempts = new Attempts(ctx, call, deadline);
    this.reserve = new ReserveStage(call, attempts, req, deadline);
    this.prefill = new PrefillStage(ctx, call, attempts, req, deadline, chunks);
    this.decode = new DecodeStage(call, attempts, req, deadline, chunks);
  }

  @Override
  public String requestId() {
    return req.requestId();
  }

  @Override
  public void cancel() {
    call.fail(Status.CANCELLED.withDescription("request " + req.requestId() + " cancelled by the client"));
  }

  /** Sends the request on its way. Returns at once; the observer hears the rest. */
  public void start() {
    if (deadline.isExpired()) {
      call.fail(Status.DEADLINE_EXCEEDED.withDescription("request " + req.requestId() + " arrived after its deadline"));
      return;
    }
    try {
      route();
    } catch (RuntimeException e) {
      log.error("request {} failed in the router", req.requestId(), e);
      call.fail(Status.INTERNAL.withDescription("router error: " + e).withCause(e));
    }
  }

  private void route() {
    List<WorkerSnapshot> decodes = ctx.registry().inRotation(WorkerRole.DECODE);
    if (decodes.isEmpty()) {
      call.fail(Status.UNAVAILABLE.withDescription("no decode worker is in rotation ("
          + outOfRotation(WorkerRole.DECODE) + ")"));
      return;
    }
    Set<String> decodeFingerprints = new HashSet<>();
    decodes.forEach(d -> decodeFingerprints.add(d.modelFingerprint()));
    List<WorkerSnapshot> prefills = ctx.registry().inRotation(WorkerRole.PREFILL).stream()
        .filter(p -> decodeFingerprints.contains(p.modelFingerprint()))
        .toList();
    ServeDecision decision = null;
    ServeMode forced = req.forcedMode();
    if (forced == ServeMode.SERVE_MODE_DISAGGREGATED) {
      if (prefills.isEmpty()) {
        call.fail(Status.UNAVAILABLE.withDescription("force_mode is DISAGGREGATED but no prefill worker serving the"
            + " decode workers' model is in rotation (" + outOfRotation(WorkerRole.PREFILL) + ")"));
        return;
      }
      decision = ServeDecision.disaggregated(ServeReasons.FORCED);
    } else if (forced == ServeMode.SERVE_MODE_COLOCATED) {
      decision = ServeDecision.colocated(ServeReasons.FORCED);
    }
    List<WorkerSnapshot> candidates = new ArrayList<>(decodes);
    candidates.addAll(prefills);
    cachedPrefixTokens = ctx.prefixCache().cachedPrefixTokens(candidates, req.promptTokenIds());
    List<WorkerSnapshot> rankedDecodes =
        ctx.selector().rank(WorkerRole.DECODE, decodes, req.facts(), cachedPrefixTokens);
    if (decision == null) {
      decision = ctx.classifier().classify(
          new ClassifierInput(req.facts(), prefills, rankedDecodes, cachedPrefixTokens, ctx.costs()));
      if (decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED && prefills.isEmpty()) {
        decision = ServeDecision.colocated(ServeReasons.NO_PREFILL_WORKER);
      }
    }
    chunks.decision(decision);
    ctx.metrics().decided(chunks.modeTag(), decision.reason());
    if (decision.mode() == ServeMode.SERVE_MODE_DISAGGREGATED) {
      reserve.run(rankedDecodes, (d, dh, granted) -> reserved(d, dh, granted, rankedDecodes, prefills),
          this::failNoDecodeWorker);
    } else {
      colocated(rankedDecodes);
    }
  }

  private void reserved(WorkerSnapshot d, WorkerHandle dh, ReserveKvResponse granted, List<WorkerSnapshot> decodes,
      List<WorkerSnapshot> prefills) {
    chunks.decodeWorker(dh);
    List<WorkerSnapshot> matching = prefills.stream()
        .filter(p -> p.modelFingerprint().equals(d.modelFingerprint()))
        .toList();
    if (matching.isEmpty()) {
      fallBackToColocated(dh, decodes, ServeReasons.NO_PREFILL_WORKER);
      return;
    }
    List<WorkerSnapshot> ranked = ctx.selector().rank(WorkerRole.PREFILL, matching, req.facts(), cachedPrefixTokens);
    prefill.run(dh, granted.getKvAddress(), ranked, (ph, response) -> prefilled(dh, response),
        last -> prefillExhausted(dh, decodes, last));
  }

  /** The first token goes to the client now; the decode worker, seeded with it, continues from the KV it received. */
  private void prefilled(WorkerHandle dh, PrefillResponse response) {
    chunks.prefilled(response);
    chunks.early(response.getFirstToken()).ifPresent(first -> call.emit(first, false));
    Attempts.Permit permit = attempts.acquire(dh);
    if (permit == null) {
      call.fail(Status.UNAVAILABLE.withDescription("decode worker " + dh.id()
          + " holding the request's KV cache has an open circuit breaker"));
      return;
    }
    decode.start(dh, permit, decode.request().setReservationId(call.reservationId())
        .setFirstToken(response.getFirstToken()).build(), null);
  }

  private void prefillExhausted(WorkerHandle dh, List<WorkerSnapshot> decodes, Status last) {
    chunks.prefillWorker(null);
    if (chunks.decision().reason().equals(ServeReasons.FORCED)) {
      Status code = last != null ? last : attempts.sawNoRoom() ? Status.RESOURCE_EXHAUSTED : Status.UNAVAILABLE;
      call.fail(code.withDescription("force_mode is DISAGGREGATED and no prefill worker could take the request: "
          + attempts.failures()));
      return;
    }
    log.info("request {}: every prefill worker failed ({}); serving it colocated on {}", req.requestId(),
        attempts.failures(), dh.id());
    fallBackToColocated(dh, decodes, ServeReasons.PREFILL_FAILED_FALLBACK_COLOCATED);
  }

  private void fallBackToColocated(WorkerHandle dh, List<WorkerSnapshot> decodes, String reason) {
    call.releaseReservation();
    chunks.decision(ServeDecision.colocated(reason));
    ctx.metrics().decided(chunks.modeTag(), reason);
    // The worker that granted the reservation had room a moment ago: try it first.
    List<WorkerSnapshot> order = new ArrayList<>();
    decodes.stream().filter(d -> d.id().equals(dh.id())).forEach(order::add);
    decodes.stream().filter(d -> !d.id().equals(dh.id())).forEach(order::add);
    attempts.reset();
    colocated(order);
  }

  private void colocated(List<WorkerSnapshot> decodes) {
    attempts.run(WorkerRole.DECODE, decodes, false, (d, dh, permit, next) -> {
      chunks.dispatched();
      decode.start(dh, permit, decode.request().build(), next);
    }, this::failNoDecodeWorker);
  }

  private void failNoDecodeWorker() {
    if (attempts.sawNoRoom()) {
      call.fail(Status.RESOURCE_EXHAUSTED.withDescription("no decode worker has room for request " + req.requestId()
          + " (" + req.promptTokens() + " prompt + " + req.maxTokens() + " max tokens); tried "
          + attempts.failures()));
    } else {
      call.fail(Status.UNAVAILABLE.withDescription("no decode worker could serve request " + req.requestId()
          + "; tried " + attempts.failures()));
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

  /** The request's meters, recorded once as it ends. */
  private final class Meters implements CallState.Ending {
    @Override
    public void finished(GenerateChunk last) {
      long now = ctx.ticker().nanoTime();
      long ttft = chunks.firstTokenNanos();
      long e2e = now - chunks.arrivalNanos();
      ctx.metrics().finished(ttft, e2e, e2e - ttft, chunks.completionTokens());
      ctx.metrics().ended(chunks.modeTag(), chunks.decision().reason(), last.getFinishReason().name());
      Usage usage = chunks.usage();
      ctx.metrics().promptTokens(req.promptTokens(), usage.getCachedPromptTokens());
    }

    @Override
    public void failed(Status status) {
      ServeDecision d = chunks.decision();
      ctx.metrics().ended(chunks.modeTag(), d == null ? "none" : d.reason(), status.getCode().name());
      ctx.metrics().failed(status.getCode().name());
    }
  }
}
