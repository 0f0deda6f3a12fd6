package io.disagg.router;

import io.disagg.proto.v1.GeneratedToken;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A simulated prefill worker for router tests: a real gRPC {@code PrefillWorker} server on a loopback port that runs
 * no model and moves no KV. It answers with {@link SimulatedModel#token}(prompt, 0) as the first token and fixed,
 * prompt-proportional timings; tests make it refuse (RESOURCE_EXHAUSTED, queue full), fail with any status, stall, or
 * die.
 */
final class SimulatedPrefillWorker implements AutoCloseable {
  static final long QUEUED_US = 2;
  static final long KV_TRANSFER_US = 50;

  final String id;
  private final Server server;
  private final int port;

  volatile boolean refuse;
  volatile Status failWith;
  volatile boolean stall;
  /** What the worker reports its KV transfer took: a slow path without actually being slow. */
  volatile long kvTransferUs = KV_TRANSFER_US;
  volatile int tokensInFlight;
  /** The prefix cache this worker reports: its digest's block hashes, and the version naming them. */
  final SimulatedPrefixCache prefixCache = new SimulatedPrefixCache();
  /** Runs before each answer (tests advance a manual clock here). */
  volatile Runnable beforeAnswer = () -> {};

  final Queue<PrefillRequest> requests = new ConcurrentLinkedQueue<>();
  final LinkedBlockingQueue<String> cancelled = new LinkedBlockingQueue<>();

  private SimulatedPrefillWorker(String id) {
    this.id = id;
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
        .addService(new Service())
        .build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.port = server.getPort();
  }

  static SimulatedPrefillWorker start(String id) {
    return new SimulatedPrefillWorker(id);
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  static long prefillUs(int promptTokens) {
    return 10L * promptTokens;
  }

  static long kvBytes(int promptTokens) {
    return 64L * promptTokens;
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Service extends PrefillWorkerGrpc.PrefillWorkerImplBase {
    @Override
    public void prefill(PrefillRequest request, StreamObserver<PrefillResponse> out) {
      requests.add(request);
      ((ServerCallStreamObserver<PrefillResponse>) out).setOnCancelHandler(
          () -> cancelled.add(request.getRequestId()));
      if (refuse) {
        out.onError(Status.RESOURCE_EXHAUSTED.withDescription(id + " prefill queue is full").asRuntimeException());
        return;
      }
      Status failure = failWith;
      if (failure != null) {
        out.onError(failure.asRuntimeException());
        return;
      }
      if (stall) {
        return;
      }
      beforeAnswer.run();
      int n = request.getPromptTokenIdsCount();
      int token = SimulatedModel.token(request.getPromptTokenIdsList(), 0);
      GeneratedToken.Builder first = GeneratedToken.newBuilder().setTokenId(token).setLogprob(-0.5f);
      for (int i = 0; i < request.getTopLogprobs(); i++) {
        // The same alternatives the simulated decode worker reports, as a real prefill samples with logprobs.
        first.addTop(io.disagg.proto.v1.TokenLogprob.newBuilder().setTokenId('a' + (token - 'a' + i) % 26)
            .setLogprob(-0.5f - i));
      }
      out.onNext(PrefillResponse.newBuilder()
          .setRequestId(request.getRequestId())
          .setFirstToken(first)
          .setPrefillUs(prefillUs(n))
          .setKvTransferUs(kvTransferUs)
          .setKvTransferBytes(kvBytes(n))
          .setQueuedUs(QUEUED_US)
          .build());
      out.onCompleted();
    }

    @Override
    public void health(HealthRequest request, StreamObserver<WorkerHealth> out) {
      out.onNext(WorkerHealth.newBuilder()
          .setWorkerId(id)
          .setRole(WorkerHealth.Role.ROLE_PREFILL)
          .setReady(true)
          .setModelFingerprint(SimulatedModel.FINGERPRINT)
          .setTokensInFlight(tokensInFlight)
          .setBlockTokens(SimulatedPrefixCache.BLOCK_TOKENS)
          .setPrefixCache(prefixCache.digest(request))
          .build());
      out.onCompleted();
    }
  }
}
