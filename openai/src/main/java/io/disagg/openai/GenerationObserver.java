package io.disagg.openai;

import io.disagg.proto.v1.GenerateChunk;
import io.grpc.stub.StreamObserver;

/**
 * A generation observer that can say "not now": the HTTP front end implements it from its channel's writability, so a
 * client that stops reading stops the service from pulling tokens off the decode worker. The same contract as gRPC's
 * {@code CallStreamObserver.isReady()/setOnReadyHandler}, for observers that are not gRPC calls.
 */
public interface GenerationObserver extends StreamObserver<GenerateChunk> {

  /** Whether the client can take another chunk now without the front end buffering beyond its bound. Any thread. */
  boolean isReady();

  /**
   * Sets the one handler run (on any thread) each time {@link #isReady()} turns true after having been false. Set once,
   * before the first chunk.
   */
  void setOnReadyHandler(Runnable onReady);
}
