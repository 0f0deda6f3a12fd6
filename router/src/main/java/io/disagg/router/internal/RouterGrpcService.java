package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.GetModelRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.proto.v1.RouterGrpc;
import io.disagg.router.GenerateCall;
import io.disagg.router.RouterService;
import io.grpc.Context;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicReference;

/** The {@code disagg.v1.Router} gRPC service: a thin adapter over {@link RouterService}. */
public final class RouterGrpcService extends RouterGrpc.RouterImplBase {
  private final RouterService router;

  public RouterGrpcService(RouterService router) {
    this.router = router;
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateResponse> responseObserver) {
    ServerCallStreamObserver<GenerateResponse> server = (ServerCallStreamObserver<GenerateResponse>) responseObserver;
    AtomicReference<GenerateCall> call = new AtomicReference<>();
    server.setOnCancelHandler(() -> cancel(call));
    call.set(router.generateUnary(request, Context.current().getDeadline(), server));
  }

  @Override
  public void generateStream(GenerateRequest request, StreamObserver<GenerateChunk> responseObserver) {
    ServerCallStreamObserver<GenerateChunk> server = (ServerCallStreamObserver<GenerateChunk>) responseObserver;
    AtomicReference<GenerateCall> call = new AtomicReference<>();
    // The client cancelling or its deadline expiring both arrive here; gRPC runs it only after this method returns.
    server.setOnCancelHandler(() -> cancel(call));
    call.set(router.generate(request, Context.current().getDeadline(), server));
  }

  @Override
  public void getModel(GetModelRequest request, StreamObserver<ModelDescription> responseObserver) {
    responseObserver.onNext(router.model());
    responseObserver.onCompleted();
  }

  private static void cancel(AtomicReference<GenerateCall> call) {
    GenerateCall c = call.get();
    if (c != null) {
      c.cancel();
    }
  }
}
