package io.disagg.router.internal;

import io.disagg.openai.GenerationObserver;
import io.disagg.proto.v1.GenerateChunk;
import io.grpc.stub.CallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * The client side of a generation. When the observer is a {@link CallStreamObserver} (a gRPC server stream) or a
 * {@link GenerationObserver} (the HTTP front end's SSE stream), the router takes its onReady handler and asks the
 * decode worker for the next chunk only once the client can take it, so a slow client slows its decode stream instead
 * of filling the router's memory. Other observers (in-process aggregators) are treated as always ready.
 */
final class Downstream {
  private final StreamObserver<GenerateChunk> observer;
  private final BooleanSupplier flow;
  private final AtomicReference<Runnable> whenReady = new AtomicReference<>();

  Downstream(StreamObserver<GenerateChunk> observer) {
    this.observer = observer;
    if (observer instanceof CallStreamObserver<GenerateChunk> call) {
      this.flow = call::isReady;
      call.setOnReadyHandler(this::onReady);
    } else if (observer instanceof GenerationObserver generation) {
      this.flow = generation::isReady;
      generation.setOnReadyHandler(this::onReady);
    } else {
      this.flow = null;
    }
  }

  StreamObserver<GenerateChunk> observer() {
    return observer;
  }

  /** Runs {@code action} once the client can take another message: now, or from its next onReady. */
  void whenReady(Runnable action) {
    if (flow == null) {
      action.run();
      return;
    }
    // Publish first, then check: an onReady racing with the check finds the action and runs it; exactly one side wins.
    whenReady.set(action);
    if (flow.getAsBoolean()) {
      runPending();
    }
  }

  private void onReady() {
    runPending();
  }

  private void runPending() {
    Runnable action = whenReady.getAndSet(null);
    if (action != null) {
      action.run();
    }
  }
}
