package io.disagg.openai;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ModelDescription;
import io.grpc.stub.StreamObserver;

/**
 * What the HTTP front end needs from the cluster; the router implements it, {@link OpenAiHttpServer} only calls it.
 *
 * <p>Every method may be called from any thread, concurrently. {@link #countPromptTokens} may block (it is never called
 * on a Netty event loop); {@link #generate} must not block.
 */
public interface InferenceService {

  /** The model served: name, context length, vocabulary size, chat template (may be empty), BOS/EOS ids. */
  ModelDescription model();

  /** Whether at least one decode worker is reachable; drives {@code GET /health}. */
  boolean ready();

  /**
   * Starts one generation. Chunks arrive on {@code observer}; the last one carries {@code finish_reason},
   * {@code usage}, {@code timing} and {@code served_by}, and is followed by {@code onCompleted()}. Failures arrive as
   * an {@link io.grpc.StatusRuntimeException} through {@code onError} (for example {@code UNAVAILABLE} when no worker
   * can serve, {@code RESOURCE_EXHAUSTED} when overloaded, {@code INVALID_ARGUMENT} for a bad request). Exactly one of
   * {@code onCompleted} or {@code onError} ends every stream.
   *
   * @return a handle whose {@link Cancellable#cancel()} stops the work on every worker (a client went away)
   */
  Cancellable generate(GenerateRequest request, StreamObserver<GenerateChunk> observer);

  /**
   * Number of tokens {@code text} becomes as the model sees it (BOS included), for context-length validation.
   *
   * @throws io.grpc.StatusRuntimeException {@code INVALID_ARGUMENT} when the text cannot be tokenized
   */
  int countPromptTokens(String text);
}
