package io.disagg.router.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import org.junit.jupiter.api.Test;

class WorkerStatusTest {

  @Test
  void fromWorker_unknownCausedByClosedChannel_isUnavailable() {
    Status lost = Status.UNKNOWN.withDescription("whatever the transport says")
        .withCause(new RuntimeException("wrapped", new ClosedChannelException()));

    Status read = WorkerStatus.fromWorker(lost, false);

    assertThat(read.getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(read.getDescription()).startsWith("connection to the worker lost");
    assertThat(read.getCause()).isSameAs(lost.getCause());
  }

  @Test
  void fromWorker_unknownWithChannelClosedTextButNoIoCause_keptAsSent() {
    Status words = Status.UNKNOWN.withDescription("channel closed");

    assertThat(WorkerStatus.fromWorker(words, false)).isSameAs(words);
  }

  @Test
  void fromWorker_cancelledTheRouterDidNotAskFor_isUnavailable() {
    assertThat(WorkerStatus.fromWorker(Status.CANCELLED.withDescription("server shutdown"), false).getCode())
        .isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void fromWorker_cancelledAfterTheRouterEndedTheCall_staysCancelled() {
    assertThat(WorkerStatus.fromWorker(Status.CANCELLED, true).getCode()).isEqualTo(Status.Code.CANCELLED);
  }

  @Test
  void fromWorker_otherCodes_unchanged() {
    Status exhausted = Status.RESOURCE_EXHAUSTED.withCause(new IOException("not a lost connection for this code"));

    assertThat(WorkerStatus.fromWorker(exhausted, false)).isSameAs(exhausted);
  }

  @Test
  void refusedOrUnreachable_onlyForNoRoomAndUnreachable() {
    assertThat(WorkerStatus.refusedOrUnreachable(Status.RESOURCE_EXHAUSTED)).isTrue();
    assertThat(WorkerStatus.refusedOrUnreachable(Status.UNAVAILABLE)).isTrue();
    assertThat(WorkerStatus.refusedOrUnreachable(Status.INTERNAL)).isFalse();
    assertThat(WorkerStatus.refusedOrUnreachable(Status.INVALID_ARGUMENT)).isFalse();
  }

  @Test
  void clientCaused_requestAndClientFailures_notWorkerFaults() {
    assertThat(WorkerStatus.clientCaused(Status.INVALID_ARGUMENT)).isTrue();
    assertThat(WorkerStatus.clientCaused(Status.OUT_OF_RANGE)).isTrue();
    assertThat(WorkerStatus.clientCaused(Status.DEADLINE_EXCEEDED)).isTrue();
    assertThat(WorkerStatus.clientCaused(Status.CANCELLED)).isTrue();
    assertThat(WorkerStatus.clientCaused(Status.INTERNAL)).isFalse();
    assertThat(WorkerStatus.clientCaused(Status.UNAVAILABLE)).isFalse();
  }
}
