package io.disagg.router.internal;

import io.disagg.proto.v1.ReleaseKvRequest;
import io.disagg.proto.v1.ReleaseKvResponse;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The release stage: frees a KV reservation the request no longer needs (it failed, was cancelled, or fell back to
 * colocated). Fire and forget, on a fresh deadline: the request's own may be what just expired. A lost ReleaseKv is
 * not fatal; the decode worker expires unused reservations on its own.
 */
final class ReleaseStage {
  private static final Logger log = LoggerFactory.getLogger(ReleaseStage.class);

  private final String requestId;
  private final Duration timeout;

  ReleaseStage(String requestId, Duration timeout) {
    this.requestId = requestId;
    this.timeout = timeout;
  }

  void release(Reservation held) {
    ReleaseKvRequest request = ReleaseKvRequest.newBuilder().setReservationId(held.id()).build();
    StreamObserver<ReleaseKvResponse> observer = new StreamObserver<>() {
      @Override
      public void onNext(ReleaseKvResponse value) {}

      @Override
      public void onError(Throwable t) {
        log.debug("request {}: ReleaseKv {} on {} failed: {}", requestId, held.id(), held.decode().id(),
            Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {}
    };
    Context.ROOT.run(() -> held.decode().decodeStub()
        .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
        .releaseKv(request, observer));
  }
}
