package io.disagg.decode.testing;

import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GeneratedToken;
import io.grpc.stub.StreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Collects a Decode stream: every chunk, then completion or the error. */
public final class StreamResult implements StreamObserver<DecodeChunk> {
  public final List<DecodeChunk> chunks = new ArrayList<>();
  public final CompletableFuture<StreamResult> done = new CompletableFuture<>();

  @Override
  public synchronized void onNext(DecodeChunk chunk) {
    chunks.add(chunk);
  }

  @Override
  public void onError(Throwable t) {
    done.completeExceptionally(t);
  }

  @Override
  public void onCompleted() {
    done.complete(this);
  }

  public synchronized List<Integer> tokenIds() {
    return chunks.stream().flatMap(c -> c.getTokensList().stream()).map(GeneratedToken::getTokenId).toList();
  }

  public synchronized String text() {
    StringBuilder sb = new StringBuilder();
    chunks.forEach(c -> sb.append(c.getTextDelta()));
    return sb.toString();
  }

  public synchronized FinishReason finishReason() {
    return chunks.getLast().getFinishReason();
  }

  /** Chunks other than the last that carry a finish reason (must be none). */
  public synchronized long earlyFinishes() {
    return chunks.subList(0, chunks.size() - 1).stream()
        .filter(c -> c.getFinishReason() != FinishReason.FINISH_REASON_UNSPECIFIED)
        .count();
  }
}
