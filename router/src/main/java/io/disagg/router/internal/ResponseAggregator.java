package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateResponse;
import io.grpc.stub.StreamObserver;
import java.util.List;

/**
 * Collects a generation's chunks into one {@link GenerateResponse} for the unary API. Chunks arrive one at a time
 * (the router serializes them), so no locking.
 */
public final class ResponseAggregator implements StreamObserver<GenerateChunk> {
  private final StreamObserver<GenerateResponse> target;
  private final GenerateResponse.Builder response = GenerateResponse.newBuilder();
  private final StringBuilder text = new StringBuilder();
  private final List<Integer> promptTokenIds;

  /** @param promptTokenIds the prepared prompt, reported in the response */
  public ResponseAggregator(StreamObserver<GenerateResponse> target, List<Integer> promptTokenIds) {
    this.target = target;
    this.promptTokenIds = List.copyOf(promptTokenIds);
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
    target.onNext(response.setText(text.toString()).addAllPromptTokenIds(promptTokenIds).build());
    target.onCompleted();
  }
}
