package io.disagg.openai;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.ModelDescription;
import io.grpc.stub.StreamObserver;

/**
 * What the HTTP front end needs from the cluster; the router implements it, {@link OpenAiHttpServer} only calls it.
 *
 * <p>Every method may be called from any thread, concurrently. {@link #prepare} may block (it tokenizes; it is never
 * called on a Netty event loop); {@link #generate} must not block. A request is prepared exactly once: validation,
 * tokenization, the default {@code max_tokens} and the context-length check all happen in {@link #prepare}.
 */
public interface InferenceService {

  /** The model served: name, context length, vocabulary size, chat template (may be empty), BOS/EOS ids. */
  ModelDescription model();

  /** Whether at least one decode worker is reachable; drives {@code GET /health}. */
  boolean ready();

  /**
   * Validates {@code request}, tokenizes its prompt and resolves its defaults (the one default {@code max_tokens}).
   * May block; never called on an event loop.
   *
   * @throws io.grpc.StatusRuntimeException {@code INVALID_ARGUMENT} for a malformed request, {@code OUT_OF_RANGE} when
   *     the prompt (plus {@code max_tokens}) does not fit the context, {@code NOT_FOUND} for another model
   */
  PreparedGeneration prepare(GenerateRequest request);

  /**
   * Starts one generation of a request {@link #prepare} returned. Chunks arrive on {@code observer}; the last one
   * carries {@code finish_reason}, {@code usage}, {@code timing} and {@code served_by}, and is followed by
   * {@code onCompleted()}. Failures arrive as an {@link io.grpc.StatusRuntimeException} through {@code onError} (for
   * example {@code UNAVAILABLE} when no worker can serve, {@code RESOURCE_EXHAUSTED} when overloaded). Exactly one of
   * {@code onCompleted} or {@code onError} ends every stream.
   *
   * <p>Flow control: when {@code observer} is a {@link GenerationObserver}, the service asks for the next chunk only
   * while {@link GenerationObserver#isReady()} holds, and resumes on {@link GenerationObserver#setOnReadyHandler}.
   *
   * @return a handle whose {@link Cancellable#cancel()} stops the work on every worker (a client went away)
   */
  Cancellable generate(PreparedGeneration prepared, StreamObserver<GenerateChunk> observer);
}
