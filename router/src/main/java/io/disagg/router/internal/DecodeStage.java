package io.disagg.router.internal;

import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.FinishReason;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;

/**
 * The decode stage: streams a Decode from one worker to the client, one chunk requested at a time and the next one
 * only once the client can take it, so backpressure reaches the decode worker. Before its first chunk a refusing or
 * unreachable worker hands the request to the next candidate (when the request can move); after it, any failure ends
 * the request. Nothing is retried once a token reached the client.
 */
final class DecodeStage {
  private final CallState call;
  private final Attempts attempts;
  private final PreparedRequest req;
  private final Deadline deadline;
  private final ChunkAssembler chunks;

  DecodeStage(CallState call, Attempts attempts, PreparedRequest req, Deadline deadline, ChunkAssembler chunks) {
    this.call = call;
    this.attempts = attempts;
    this.req = req;
    this.deadline = deadline;
    this.chunks = chunks;
  }

  /** The request as a Decode: its prompt, budget and sampling (a disaggregated one adds reservation and first token). */
  DecodeRequest.Builder request() {
    return DecodeRequest.newBuilder()
        .setRequestId(req.requestId())
        .addAllPromptTokenIds(req.promptTokenIds())
        .setSampling(req.request().getSampling())
        .setMaxTokens(req.maxTokens())
        .addAllStop(req.request().getStopList())
        .setLogprobs(req.request().getLogprobs())
        .setTopLogprobs(req.request().getTopLogprobs())
        .setPriority(req.request().getPriority());
  }

  /**
   * Starts the Decode on {@code dh}.
   *
   * @param permit the worker's breaker permit, taken by the caller
   * @param next moves to the next worker when this one refuses before its first chunk; null when the request cannot
   *     move (its KV cache already lives on this worker)
   */
  void start(WorkerHandle dh, Attempts.Permit permit, DecodeRequest request, Attempts.Next next) {
    chunks.decodeWorker(dh);
    dh.started(req.promptTokens());
    ClientResponseObserver<DecodeRequest, DecodeChunk> observer = new ClientResponseObserver<>() {
      private ClientCallStreamObserver<DecodeRequest> upstream;
      private boolean sawChunk;
      private boolean sawFinish;
      private boolean ended;

      @Override
      public void beforeStart(ClientCallStreamObserver<DecodeRequest> rpc) {
        upstream = rpc;
        rpc.disableAutoRequestWithInitial(1);
        call.attach(rpc);
      }

      @Override
      public void onNext(DecodeChunk chunk) {
        if (sawFinish) {
          return;
        }
        sawChunk = true;
        sawFinish = chunk.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED;
        call.emit(chunks.assemble(chunk), sawFinish);
        ClientCallStreamObserver<DecodeRequest> rpc = upstream;
        if (sawFinish) {
          rpc.request(1);
        } else {
          call.downstream().whenReady(() -> rpc.request(1));
        }
      }

      @Override
      public void onError(Throwable t) {
        end();
        Status status = WorkerStatus.fromWorker(Status.fromThrowable(t), call.isTerminated());
        permit.outcome(status);
        if (sawFinish || call.isTerminated()) {
          return;
        }
        if (!sawChunk && next != null && WorkerStatus.refusedOrUnreachable(status)) {
          next.after(dh, status);
          return;
        }
        if (status.getCode() == Status.Code.UNAVAILABLE) {
          dh.markUnreachable("decode failed: " + WorkerStatus.brief(status));
        }
        String what = "decode worker " + dh.id() + " failed Decode"
            + (sawChunk ? " after " + chunks.completionTokens() + " tokens" : "");
        call.fail(WorkerStatus.describe(status, what));
      }

      @Override
      public void onCompleted() {
        end();
        permit.outcome(sawFinish ? Status.OK : Status.INTERNAL);
        if (!sawFinish) {
          call.fail(Status.INTERNAL.withDescription("decode worker " + dh.id()
              + " ended the stream without a finish reason after " + chunks.completionTokens() + " tokens"));
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
}
