package io.disagg.router.internal;

import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.WorkerHealth;
import io.disagg.router.WorkerRole;
import io.grpc.ConnectivityState;
import io.grpc.Context;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Asks every worker for its health and load, and moves it in or out of rotation. One {@link #pollAll()} is one
 * round; the router schedules rounds, tests call it by hand.
 *
 * <p>A worker is taken out of rotation after one failed poll (no answer within the health timeout, not ready, wrong
 * role, or another model's fingerprint) and put back by the first poll that succeeds.
 */
public final class HealthPoller {
  private static final Logger log = LoggerFactory.getLogger(HealthPoller.class);

  private final WorkerRegistry registry;
  private final String modelSha256;
  private final Duration timeout;
  private final PrefixIndex prefixIndex;

  /** @param prefixIndex fed with every worker's prefix-cache digest */
  public HealthPoller(WorkerRegistry registry, String modelSha256, Duration timeout, PrefixIndex prefixIndex) {
    this.registry = registry;
    this.modelSha256 = modelSha256;
    this.timeout = timeout;
    this.prefixIndex = prefixIndex;
  }

  /** Polls every worker once; completes (never exceptionally) when every poll answered or timed out. */
  public CompletableFuture<Void> pollAll() {
    List<CompletableFuture<Void>> polls = new ArrayList<>();
    for (WorkerHandle worker : registry.all()) {
      polls.add(poll(worker));
    }
    return CompletableFuture.allOf(polls.toArray(CompletableFuture[]::new));
  }

  private CompletableFuture<Void> poll(WorkerHandle worker) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    // A channel that failed to connect backs off for up to minutes, and fails calls at once meanwhile: skip the
    // backoff and wait (up to the timeout) for the new connection, so a worker that came back is seen on this round.
    // Any other state fails fast on a refused connection, so a worker that just died is seen at once.
    boolean reconnect = worker.channel().getState(false) == ConnectivityState.TRANSIENT_FAILURE;
    if (reconnect) {
      worker.channel().resetConnectBackoff();
    }
    StreamObserver<WorkerHealth> observer = new StreamObserver<>() {
      @Override
      public void onNext(WorkerHealth health) {
        boolean was = worker.inRotation();
        prefixIndex.apply(worker.id(), health.getPrefixCache());
        // The hashes now live in the index; the snapshot keeps the rest of the report.
        worker.applyHealth(health.getPrefixCache().getBlockHashesCount() == 0 ? health
            : health.toBuilder().setPrefixCache(health.getPrefixCache().toBuilder().clearBlockHashes()).build(),
            modelSha256);
        if (was != worker.inRotation()) {
          if (worker.inRotation()) {
            log.info("{} is in rotation", worker);
          } else {
            log.warn("{} taken out of rotation: {}", worker, worker.snapshot().outOfRotationReason());
          }
        }
      }

      @Override
      public void onError(Throwable t) {
        boolean was = worker.inRotation();
        Status status = Status.fromThrowable(t);
        // A worker that stopped answering may come back restarted, with an empty cache.
        prefixIndex.forget(worker.id());
        worker.markUnreachable("health check failed: " + status.getCode()
            + (status.getDescription() == null ? "" : " " + status.getDescription()));
        if (was) {
          log.warn("{} taken out of rotation: {}", worker, worker.snapshot().outOfRotationReason());
        }
        done.complete(null);
      }

      @Override
      public void onCompleted() {
        done.complete(null);
      }
    };
    HealthRequest request = HealthRequest.newBuilder()
        .setKnownPrefixCacheVersion(prefixIndex.knownVersion(worker.id()))
        .build();
    Context.ROOT.run(() -> {
      if (worker.role() == WorkerRole.PREFILL) {
        PrefillWorkerGrpc.PrefillWorkerStub stub = worker.prefillStub()
            .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
        (reconnect ? stub.withWaitForReady() : stub).health(request, observer);
      } else {
        DecodeWorkerGrpc.DecodeWorkerStub stub = worker.decodeStub()
            .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS);
        (reconnect ? stub.withWaitForReady() : stub).health(request, observer);
      }
    });
    return done;
  }
}
