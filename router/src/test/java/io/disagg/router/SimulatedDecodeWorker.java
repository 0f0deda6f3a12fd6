package io.disagg.router;

import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.GeneratedToken;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.ReleaseKvRequest;
import io.disagg.proto.v1.ReleaseKvResponse;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.proto.v1.TokenLogprob;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A simulated decode worker for router tests: a real gRPC {@code DecodeWorker} server on a loopback port that runs no
 * model. It generates {@link SimulatedModel#token} sequences (the first token from the prefill when disaggregated),
 * one chunk per token, honouring the client's flow control. Tests make it refuse reservations or colocated decodes
 * with RESOURCE_EXHAUSTED, stall after some chunks, report any load, or die (server shut down) and come back on the
 * same port. It records what the router asked of it.
 */
final class SimulatedDecodeWorker implements AutoCloseable {
  final String id;
  private int port;
  private Server server;

  volatile boolean refuseReservations;
  volatile boolean refuseColocated;
  /** When set, a Decode stream ends with this status after its first chunk, as if the worker died mid-stream. */
  volatile io.grpc.Status failAfterFirstChunk;
  /** Chunks sent before the stream stalls (until cancelled); negative = never stall. */
  volatile int stallAfterChunks = -1;
  volatile boolean ready = true;
  volatile String fingerprint = SimulatedModel.FINGERPRINT;
  volatile int runningSequences;
  volatile int queueDepth;
  volatile int freeKvBlocks = 1000;
  volatile int reservedKvBlocks;
  /** Colocated answers report this many prompt tokens as taken from the prefix cache. */
  volatile int cachedPromptTokens;
  /** The prefix cache this worker reports: its digest's block hashes, and the version naming them. */
  final SimulatedPrefixCache prefixCache = new SimulatedPrefixCache();
  volatile int totalKvBlocks = 1000;

  final Queue<ReserveKvRequest> reserveRequests = new ConcurrentLinkedQueue<>();
  final Queue<DecodeRequest> decodeRequests = new ConcurrentLinkedQueue<>();
  final Queue<String> releasedReservations = new ConcurrentLinkedQueue<>();
  /** Request ids whose Decode stream the client cancelled, in order. */
  final LinkedBlockingQueue<String> cancelledDecodes = new LinkedBlockingQueue<>();
  final LinkedBlockingQueue<String> releases = new LinkedBlockingQueue<>();
  /** Request ids of Decode streams as they arrive. */
  final LinkedBlockingQueue<String> decodeStarts = new LinkedBlockingQueue<>();
  final AtomicInteger healthPolls = new AtomicInteger();
  /** One element per Health call, so a test can wait for polls to happen. */
  final LinkedBlockingQueue<Integer> healthPollEvents = new LinkedBlockingQueue<>();
  private final Map<String, ReserveKvRequest> reservations = new ConcurrentHashMap<>();
  private final AtomicInteger nextReservation = new AtomicInteger();

  private SimulatedDecodeWorker(String id) {
    this.id = id;
  }

  static SimulatedDecodeWorker start(String id) {
    SimulatedDecodeWorker worker = new SimulatedDecodeWorker(id);
    worker.bind(0);
    return worker;
  }

  String address() {
    return "127.0.0.1:" + port;
  }

  String kvAddress() {
    return "sim-kv://" + id;
  }

  /** Dies: the server stops and every open stream breaks. */
  void kill() throws InterruptedException {
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Comes back on the same port. */
  void restart() {
    bind(port);
  }

  boolean hasReservation(String reservationId) {
    return reservations.containsKey(reservationId);
  }

  private void bind(int requestedPort) {
    server = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", requestedPort))
        .addService(new Service())
        .build();
    try {
      server.start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    port = server.getPort();
  }

  @Override
  public void close() {
    try {
      kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private final class Service extends DecodeWorkerGrpc.DecodeWorkerImplBase {
    @Override
    public void reserveKv(ReserveKvRequest request, StreamObserver<ReserveKvResponse> out) {
      reserveRequests.add(request);
      if (refuseReservations) {
        out.onError(Status.RESOURCE_EXHAUSTED.withDescription(id + " has no free KV blocks").asRuntimeException());
        return;
      }
      if (!request.getModelFingerprint().equals(fingerprint)) {
        out.onError(Status.FAILED_PRECONDITION.withDescription("fingerprint mismatch").asRuntimeException());
        return;
      }
      String reservationId = id + "-r" + nextReservation.incrementAndGet();
      reservations.put(reservationId, request);
      out.onNext(ReserveKvResponse.newBuilder().setReservationId(reservationId).setKvAddress(kvAddress())
          .setReservedBlocks(1).build());
      out.onCompleted();
    }

    @Override
    public void releaseKv(ReleaseKvRequest request, StreamObserver<ReleaseKvResponse> out) {
      boolean released = reservations.remove(request.getReservationId()) != null;
      releasedReservations.add(request.getReservationId());
      releases.add(request.getReservationId());
      out.onNext(ReleaseKvResponse.newBuilder().setReleased(released).build());
      out.onCompleted();
    }

    @Override
    public void decode(DecodeRequest request, StreamObserver<DecodeChunk> out) {
      decodeRequests.add(request);
      decodeStarts.add(request.getRequestId());
      ServerCallStreamObserver<DecodeChunk> call = (ServerCallStreamObserver<DecodeChunk>) out;
      call.setOnCancelHandler(() -> cancelledDecodes.add(request.getRequestId()));
      boolean colocated = request.getReservationId().isEmpty();
      if (colocated && refuseColocated) {
        out.onError(Status.RESOURCE_EXHAUSTED.withDescription(id + " decode batch is full").asRuntimeException());
        return;
      }
      if (!colocated && !reservations.containsKey(request.getReservationId())) {
        out.onError(Status.FAILED_PRECONDITION.withDescription("unknown reservation " + request.getReservationId())
            .asRuntimeException());
        return;
      }
      new Stream(request, call, colocated).begin();
    }

    @Override
    public void health(HealthRequest request, StreamObserver<WorkerHealth> out) {
      healthPollEvents.add(healthPolls.incrementAndGet());
      out.onNext(WorkerHealth.newBuilder()
          .setWorkerId(id)
          .setRole(WorkerHealth.Role.ROLE_DECODE)
          .setReady(ready)
          .setModelFingerprint(fingerprint)
          .setQueueDepth(queueDepth)
          .setRunningSequences(runningSequences)
          .setTokensInFlight(runningSequences)
          .setFreeKvBlocks(freeKvBlocks)
          .setReservedKvBlocks(reservedKvBlocks)
          .setTotalKvBlocks(totalKvBlocks)
          .setBlockTokens(16)
          .setKvAddress(kvAddress())
          .setPrefixCache(prefixCache.digest(request))
          .build());
      out.onCompleted();
    }
  }

  /**
   * Emits chunks while the router's stream is ready, so the router's flow control is exercised. Stop strings work as
   * on a real worker: text that could begin a stop string is held back, and a completed match ends the stream with
   * FINISH_REASON_STOP and the text before it. With {@code top_logprobs}, each token lists itself and the next letters
   * as alternatives (ids only: the router fills in their texts).
   */
  private final class Stream {
    private final DecodeRequest request;
    private final ServerCallStreamObserver<DecodeChunk> call;
    private final boolean colocated;
    private final List<Integer> prompt;
    private final StringBuilder generated = new StringBuilder();
    private int emitted;
    private int sent;
    private boolean done;

    Stream(DecodeRequest request, ServerCallStreamObserver<DecodeChunk> call, boolean colocated) {
      this.request = request;
      this.call = call;
      this.colocated = colocated;
      this.prompt = request.getPromptTokenIdsList();
    }

    void begin() {
      call.setOnReadyHandler(this::drain);
      drain();
    }

    private synchronized void drain() {
      int total = request.getMaxTokens();
      while (!done && call.isReady() && !call.isCancelled()) {
        int stall = stallAfterChunks;
        if (stall >= 0 && sent >= stall) {
          return; // stalls until the router cancels
        }
        int token = sent == 0 && !colocated ? request.getFirstToken().getTokenId() : SimulatedModel.token(prompt, sent);
        GeneratedToken.Builder generatedToken = GeneratedToken.newBuilder().setTokenId(token).setLogprob(-0.5f);
        for (int i = 0; i < request.getTopLogprobs(); i++) {
          int alternative = 'a' + (token - 'a' + i) % 26;
          generatedToken.addTop(TokenLogprob.newBuilder().setTokenId(alternative).setLogprob(-0.5f - i));
        }
        generated.append((char) token);
        sent++;
        DecodeChunk.Builder chunk = DecodeChunk.newBuilder().addTokens(generatedToken);
        int stopAt = stopMatch();
        if (stopAt >= 0) {
          chunk.setTextDelta(generated.substring(emitted, stopAt)).setFinishReason(FinishReason.FINISH_REASON_STOP);
          done = true;
        } else if (sent >= total) {
          chunk.setTextDelta(generated.substring(emitted)).setFinishReason(FinishReason.FINISH_REASON_LENGTH);
          done = true;
        } else {
          int safe = generated.length() - heldBack();
          chunk.setTextDelta(generated.substring(emitted, safe));
          emitted = safe;
        }
        if (sent == 1 && colocated) {
          chunk.setPrefillUs(10L * prompt.size()).setQueuedUs(3).setCachedPromptTokens(cachedPromptTokens);
        }
        call.onNext(chunk.build());
        io.grpc.Status failure = failAfterFirstChunk;
        if (failure != null && !done) {
          done = true;
          call.onError(failure.asRuntimeException());
          return;
        }
        if (done) {
          reservations.remove(request.getReservationId());
          call.onCompleted();
        }
      }
    }

    /** Where the earliest complete stop string starts in the generated text, or -1. */
    private int stopMatch() {
      int earliest = -1;
      for (String stop : request.getStopList()) {
        int at = generated.indexOf(stop);
        if (at >= 0 && (earliest < 0 || at < earliest)) {
          earliest = at;
        }
      }
      return earliest;
    }

    /** Length of the longest tail of the generated text that is a proper prefix of a stop string. */
    private int heldBack() {
      int held = 0;
      for (String stop : request.getStopList()) {
        for (int n = Math.min(stop.length() - 1, generated.length() - emitted); n > held; n--) {
          if (generated.substring(generated.length() - n).equals(stop.substring(0, n))) {
            held = n;
            break;
          }
        }
      }
      return held;
    }
  }
}
