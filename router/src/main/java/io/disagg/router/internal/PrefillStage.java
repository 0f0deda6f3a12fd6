package io.disagg.router.internal;

import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.List;

/**
 * The prefill and transfer stage of a disaggregated request: Prefill on the prefill workers in rank order; the worker
 * computes the prompt's KV cache, pushes it into the decode worker's reservation and answers with the first token.
 * RESOURCE_EXHAUSTED and UNAVAILABLE mean the worker refused or was never reached, so no KV was pushed and the prefill
 * may run again on the next worker after a backoff. A failure the request caused ends it; any other failure gives up
 * on prefill workers (the caller falls back to colocated).
 */
final class PrefillStage {
  interface Prefilled {
    void on(WorkerHandle prefill, PrefillResponse response);
  }

  /** Every prefill worker failed; {@code last} is the failure that ended the stage, or null when all were refused. */
  interface Exhausted {
    void on(Status last);
  }

  private final RouterContext ctx;
  private final CallState call;
  private final Attempts attempts;
  private final PreparedRequest req;
  private final Deadline deadline;
  private final ChunkAssembler chunks;

  PrefillStage(RouterContext ctx, CallState call, Attempts attempts, PreparedRequest req, Deadline deadline,
      ChunkAssembler chunks) {
    this.ctx = ctx;
    this.call = call;
    this.attempts = attempts;
    this.req = req;
    this.deadline = deadline;
    this.chunks = chunks;
  }

  void run(WorkerHandle decode, String kvAddress, List<WorkerSnapshot> prefills, Prefilled then, Exhausted exhausted) {
    attempts.run(WorkerRole.PREFILL, prefills, true, (p, ph, permit, next) -> {
      PrefillRequest request = PrefillRequest.newBuilder()
          .setRequestId(req.requestId())
          .addAllPromptTokenIds(req.promptTokenIds())
          .setSampling(req.request().getSampling())
          .setDecodeTarget(kvAddress)
          .setReservationId(call.reservationId())
          .setLogprobs(req.request().getLogprobs())
          .setTopLogprobs(req.request().getTopLogprobs())
          .build();
      chunks.dispatched();
      chunks.prefillWorker(ph);
      ph.started(req.promptTokens());
      WorkerRpc.unary(call, o -> ph.prefillStub().withDeadline(deadline).prefill(request, o),
          new WorkerRpc.Unary<PrefillResponse>() {
            @Override
            public void onValue(PrefillResponse response) {
              permit.outcome(Status.OK);
              ph.finished(req.promptTokens());
              measure(ph, decode, response);
              if (!call.isTerminated()) {
                then.on(ph, response);
              }
            }

            @Override
            public void onFailure(Status status) {
              permit.outcome(status);
              ph.finished(req.promptTokens());
              if (call.isTerminated()) {
                return;
              }
              if (WorkerStatus.refusedOrUnreachable(status)) {
                next.after(ph, status);
              } else if (WorkerStatus.clientCaused(status)) {
                call.fail(WorkerStatus.describe(status, "prefill worker " + ph.id() + " failed Prefill"));
              } else {
                attempts.recordFailure(ph, status);
                exhausted.on(status);
              }
            }
          });
    }, () -> exhausted.on(null));
  }

  /** Feeds the cost model and the transfer meters from a finished prefill. */
  private void measure(WorkerHandle ph, WorkerHandle dh, PrefillResponse response) {
    ctx.costs().recordPrefill(ph.id(), WorkerRole.PREFILL,
        req.promptTokens() - response.getCachedPromptTokens(), response.getPrefillUs());
    ctx.costs().recordTransfer(ph.id(), dh.id(), response.getKvTransferBytes(), response.getKvTransferUs(),
        req.promptTokens());
    ctx.metrics().transferred(ph.id(), dh.id(), response.getKvTransferBytes(), response.getKvTransferUs());
  }
}
