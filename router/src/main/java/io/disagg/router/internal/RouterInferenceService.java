package io.disagg.router.internal;

import io.disagg.openai.Cancellable;
import io.disagg.openai.InferenceService;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ModelDescription;
import io.disagg.router.GenerateCall;
import io.disagg.router.RouterService;
import io.disagg.router.ServedModel;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.util.Objects;

/**
 * The router as the OpenAI HTTP front end sees it. Generations get the router's request timeout as their deadline
 * (HTTP carries none), and a client that goes away cancels the router call, which cancels the worker RPCs and
 * releases any KV reservation.
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
  public Cancellable generate(GenerateRequest request, StreamObserver<GenerateChunk> observer) {
    // A null deadline means "the router's --request-timeout", the same cap gRPC clients get.
    GenerateCall call = router.generate(request, null, observer);
    return call::cancel;
  }

  @Override
  public int countPromptTokens(String text) {
    Objects.requireNonNull(text, "text");
    ServedModel model = router.servedModel();
    try {
      return PromptTokens.encode(model.tokenizer(), text).length;
    } catch (RuntimeException e) {
      throw Status.INVALID_ARGUMENT.withDescription("prompt: cannot be tokenized: " + e.getMessage()).withCause(e)
          .asRuntimeException();
    }
  }
}
