package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.function.Supplier;

/**
 * Collects a generation's chunks into one {@link GenerateResponse} for the unary API. Chunks arrive one at a time
 * (the router serializes them), so no locking.
 */
public final class ResponseAggregator implements StreamObserver<GenerateChunk> {
  private final StreamObserver<GenerateResponse> target;
  private final GenerateResponse.Builder response = GenerateResponse.newBuilder();
  private final StringBuilder text = new StringBuilder();
  private Supplier<List<Integer>> promptTokenIds = List::of;

  public ResponseAggregator(StreamObserver<GenerateResponse> target) {
    this.target = target;
  }

  /** Where to read the prompt ids from once the generation completes (known only after tokenization). */
  public void promptTokenIds(Supplier<List<Integer>> source) {
    this.promptTokenIds = source;
  }

  @Override
  public void onNext(GenerateChunk chunk) {
    response.setRequestId(chunk.getRequestId());
    response.addAllTokenIds(chunk.getTokenIdsList());
    response.addAllTokens(chunk.getTokensList());
    text.append(chunk.getTextDelta());
    if (chunk.hasUsage()) {
      response.setFinishReason(chunk.getFinishReason())
          .setUsage(chunk.getUsage())
          .setTiming(chunk.getTiming())
          .setServedBy(chunk.getServedBy());
    }
  }

  @Override
  public void onError(Throwable t) {
    target.onError(t);
  }

  @Override
  public void onCompleted() {
    target.onNext(response.setText(text.toString()).addAllPromptTokenIds(promptTokenIds.get()).build());
    target.onCompleted();
  }
}
