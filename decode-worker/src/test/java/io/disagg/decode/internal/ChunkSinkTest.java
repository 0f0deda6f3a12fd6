package io.disagg.decode.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GeneratedToken;
import io.grpc.stub.ServerCallStreamObserver;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ChunkSinkTest {

  /** A transport whose readiness the test sets; records what was written. */
  private static final class FakeObserver extends ServerCallStreamObserver<DecodeChunk> {
    boolean ready = true;
    boolean completed;
    Runnable onReady;
    Runnable onCancel;
    final List<DecodeChunk> sent = new ArrayList<>();

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setOnReadyHandler(Runnable r) {
      onReady = r;
    }

    @Override
    public void setOnCancelHandler(Runnable r) {
      onCancel = r;
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setCompression(String compression) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int count) {}

    @Override
    public void setMessageCompression(boolean enable) {}

    @Override
    public void onNext(DecodeChunk value) {
      sent.add(value);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {
      completed = true;
    }
  }

  private static GeneratedToken token(int id) {
    return GeneratedToken.newBuilder().setTokenId(id).build();
  }

  @Test
  void append_transportNotReady_coalescesTokensAndPausesTheSequenceAtTheLimit() {
    FakeObserver observer = new FakeObserver();
    AtomicInteger wakeups = new AtomicInteger();
    ChunkSink sink = new ChunkSink(observer, wakeups::incrementAndGet, 3);
    observer.ready = false;

    sink.append(token(5), " a", null, null);
    sink.append(token(6), " b", null, null);
    assertThat(sink.wantsMore()).isTrue();
    sink.append(token(7), " c", null, null);

    assertThat(observer.sent).isEmpty();
    assertThat(sink.wantsMore()).isFalse(); // the engine leaves this sequence out of its steps

    observer.ready = true;
    observer.onReady.run();

    assertThat(observer.sent).hasSize(1);
    assertThat(observer.sent.getFirst().getTokensList()).extracting(GeneratedToken::getTokenId)
        .containsExactly(5, 6, 7);
    assertThat(observer.sent.getFirst().getTextDelta()).isEqualTo(" a b c");
    assertThat(sink.wantsMore()).isTrue();
    assertThat(wakeups.get()).isEqualTo(1); // the engine is told it may go on
  }

  @Test
  void append_finishWhileNotReady_completesOnlyAfterTheLastChunkIsSent() {
    FakeObserver observer = new FakeObserver();
    ChunkSink sink = new ChunkSink(observer, () -> {}, 8);
    observer.ready = false;

    sink.append(token(5), " a", FinishReason.FINISH_REASON_LENGTH, null);
    assertThat(observer.completed).isFalse();

    observer.ready = true;
    observer.onReady.run();

    assertThat(observer.sent).hasSize(1);
    assertThat(observer.sent.getFirst().getFinishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(observer.completed).isTrue();
  }

  @Test
  void cancel_stopsWritesAndRunsCancelActions() {
    FakeObserver observer = new FakeObserver();
    AtomicInteger released = new AtomicInteger();
    ChunkSink sink = new ChunkSink(observer, () -> {}, 8);
    sink.onCancel(released::incrementAndGet);

    observer.onCancel.run();
    sink.append(token(5), " a", null, null);

    assertThat(sink.isCancelled()).isTrue();
    assertThat(sink.wantsMore()).isFalse();
    assertThat(observer.sent).isEmpty();
    assertThat(released.get()).isEqualTo(1);
  }
}
