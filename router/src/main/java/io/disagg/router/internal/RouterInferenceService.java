package io.disagg.router.internal;

import io.disagg.openai.Cancellable;
import io.disagg.openai.InferenceService;
import io.disagg.openai.PreparedGeneration;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.router.GenerateCall;
import io.disagg.router.RouterService;
import io.grpc.stub.StreamObserver;
import java.util.Objects;

/**
 * The router as the OpenAI HTTP front end sees it. {@link #prepare} is the router's one preparation of a request
 * (validation, tokenization, defaults), run on the front end's blocking executor. Generations get the router's request
 * timeout as their deadline (HTTP carries none), and a client that goes away cancels the router call, which cancels
 * the worker RPCs and releases any KV reservation.
 */
public final class RouterInferenceService implements InferenceService {
  private final RouterService router;

  public RouterInferenceService(RouterService router) {
    this.router = Objects.requireNonNull(router, "router");
  }

  @Override
  public ModelDescription model() {
    return router.model();
  }

  @Override
  public boolean ready() {
    return router.ready();
  }

  @Override
  public PreparedGeneration prepare(GenerateRequest request) {
    return router.prepare(request);
  }

  @Override
  public Cancellable generate(PreparedGeneration prepared, StreamObserver<GenerateChunk> observer) {
    // A null deadline means "the router's --request-timeout", the same cap gRPC clients get.
    GenerateCall call = router.generate(prepared, null, observer);
    return call::cancel;
  }
}
