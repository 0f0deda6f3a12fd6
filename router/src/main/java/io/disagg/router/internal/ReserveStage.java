package io.disagg.router.internal;

import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.List;

/**
 * The reserve stage of a disaggregated request: ReserveKv on the decode workers in rank order until one sets blocks
 * aside for the prompt and the generation budget. Refusals and unreachable workers move on after a backoff; any other
 * failure ends the request.
 */
final class ReserveStage {
  /** The reservation granted, already held by the call. */
  interface Reserved {
    void on(WorkerSnapshot decode, WorkerHandle worker, ReserveKvResponse response);
  }

  private final CallState call;
  private final Attempts attempts;
  private final PreparedRequest req;
  private final Deadline deadline;

  ReserveStage(CallState call, Attempts attempts, PreparedRequest req, Deadline deadline) {
    this.call = call;
    this.attempts = attempts;
    this.req = req;
    this.deadline = deadline;
  }

  void run(List<WorkerSnapshot> decodes, Reserved then, Runnable exhausted) {
    attempts.run(WorkerRole.DECODE, decodes, true, (d, dh, permit, next) -> {
      ReserveKvRequest request = ReserveKvRequest.newBuilder()
          .setRequestId(req.requestId())
          .setModelFingerprint(d.modelFingerprint())
          .setPromptTokens(req.promptTokens())
          .setMaxNewTokens(req.maxTokens())
          .build();
      WorkerRpc.unary(call, o -> dh.decodeStub().withDeadline(deadline).reserveKv(request, o),
          new WorkerRpc.Unary<ReserveKvResponse>() {
            @Override
            public void onValue(ReserveKvResponse response) {
              permit.outcome(Status.OK);
              if (call.hold(new Reservation(dh, response.getReservationId()))) {
                then.on(d, dh, response);
              }
            }

            @Override
            public void onFailure(Status status) {
              permit.outcome(status);
              if (call.isTerminated()) {
                return;
              }
              if (WorkerStatus.refusedOrUnreachable(status)) {
                next.after(dh, status);
              } else {
                call.fail(WorkerStatus.describe(status, "decode worker " + dh.id() + " failed ReserveKv"));
              }
            }
          });
    }, exhausted);
  }
}
