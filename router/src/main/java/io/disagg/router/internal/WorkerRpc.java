package io.disagg.router.internal;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.util.function.Consumer;

/** Starts the unary worker RPCs of a generation, detached from the caller's gRPC context and cancellable by it. */
final class WorkerRpc {
  private WorkerRpc() {}

  /** Callbacks of a unary worker RPC; the status is already read through {@link WorkerStatus#fromWorker}. */
  interface Unary<T> {
    void onValue(T value);

    void onFailure(Status status);
  }

  /**
   * Starts a unary RPC outside the caller's gRPC context (the router cancels worker RPCs itself, and must still send
   * ReleaseKv after the client went away) and registers it with {@code call} for cancellation.
   */
  static <Q, T> void unary(CallState call, Consumer<StreamObserver<T>> start, Unary<T> handler) {
    ClientResponseObserver<Q, T> observer = new ClientResponseObserver<>() {
      private T value;

      @Override
      public void beforeStart(ClientCallStreamObserver<Q> rpc) {
        call.attach(rpc);
      }

      @Override
      public void onNext(T v) {
        value = v;
      }

      @Override
      public void onError(Throwable t) {
        handler.onFailure(WorkerStatus.fromWorker(Status.fromThrowable(t), call.isTerminated()));
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
    Context.ROOT.run(() -> start.accept(observer));
  }
}
