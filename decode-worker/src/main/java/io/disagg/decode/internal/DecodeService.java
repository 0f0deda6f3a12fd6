package io.disagg.decode.internal;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.KvPoolExhaustedException;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.proto.v1.DecodeChunk;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.ReleaseKvRequest;
import io.disagg.proto.v1.ReleaseKvResponse;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.proto.v1.WorkerHealth;
import io.disagg.worker.Protos;
import io.disagg.worker.Statuses;
import io.disagg.worker.WorkerMetrics;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/** The DecodeWorker gRPC service: validates requests and hands them to the {@link DecodeEngine}. */
public final class DecodeService extends DecodeWorkerGrpc.DecodeWorkerImplBase {
  private final Backend backend;
  private final ModelInfo model;
  private final DecodeEngine engine;
  private final ReservationTable reservations;
  private final Clock clock;
  private final RandomGenerator random;
  private final int maxPendingTokens;
  private final BooleanSupplier draining;
  private final LongFunction<WorkerHealth> health;
  private final Supplier<String> kvAddress;
  private final WorkerMetrics metrics;

  /**
   * @param health the Health answer for a caller knowing the given prefix-cache version
   * @param kvAddress where prefill workers push KV, returned with each reservation
   */
  public DecodeService(Backend backend, DecodeEngine engine, ReservationTable reservations, Clock clock,
      RandomGenerator random, int maxPendingTokens, BooleanSupplier draining, LongFunction<WorkerHealth> health,
      Supplier<String> kvAddress, WorkerMetrics metrics) {
    this.backend = backend;
    this.model = backend.model();
    this.engine = engine;
    this.reservations = reservations;
    this.clock = clock;
    this.random = random;
    this.maxPendingTokens = maxPendingTokens;
    this.draining = draining;
    this.health = health;
    this.kvAddress = kvAddress;
    this.metrics = metrics;
  }

  @Override
  public void reserveKv(ReserveKvRequest request, StreamObserver<ReserveKvResponse> out) {
    try {
      reservations.expire();
      checkNotDraining();
      String fingerprint = model.fingerprint().value();
      if (!request.getModelFingerprint().isEmpty() && !request.getModelFingerprint().equals(fingerprint)) {
        throw Status.FAILED_PRECONDITION.withDescription("model_fingerprint: " + request.getModelFingerprint()
            + " (expected: " + fingerprint + ")").asRuntimeException();
      }
      long prompt = Integer.toUnsignedLong(request.getPromptTokens());
      if (prompt == 0) {
        throw Protos.invalid("prompt_tokens: 0 (expected: > 0)");
      }
      if (prompt > model.contextLength()) {
        throw Status.OUT_OF_RANGE.withDescription("prompt_tokens: " + prompt + " (expected: <= context length "
            + model.contextLength() + ")").asRuntimeException();
      }
      long budget = request.getMaxNewTokens() == 0 ? model.contextLength()
          : Integer.toUnsignedLong(request.getMaxNewTokens());
      int tokens = (int) Math.min(model.contextLength(), prompt + budget);
      int blocks = backend.kvPool().layout().blocksFor(tokens);
      String id;
      try {
        id = reservations.reserve(request.getRequestId(), blocks);
      } catch (KvPoolExhaustedException e) {
        throw Status.RESOURCE_EXHAUSTED.withDescription("no KV room for request " + request.getRequestId() + ": "
            + e.getMessage()).asRuntimeException();
      }
      out.onNext(ReserveKvResponse.newBuilder()
          .setReservationId(id)
          .setKvAddress(kvAddress.get())
          .setReservedBlocks(blocks)
          .build());
      out.onCompleted();
    } catch (StatusRuntimeException e) {
      out.onError(e);
    }
  }

  @Override
  public void releaseKv(ReleaseKvRequest request, StreamObserver<ReleaseKvResponse> out) {
    out.onNext(ReleaseKvResponse.newBuilder().setReleased(reservations.release(request.getReservationId())).build());
    out.onCompleted();
  }

  @Override
  public void health(HealthRequest request, StreamObserver<WorkerHealth> out) {
    reservations.expire();
    out.onNext(health.apply(request.getKnownPrefixCacheVersion()));
    out.onCompleted();
  }

  @Override
  public void decode(DecodeRequest request, StreamObserver<DecodeChunk> responseObserver) {
    ServerCallStreamObserver<DecodeChunk> observer = (ServerCallStreamObserver<DecodeChunk>) responseObserver;
    ChunkSink sink = new ChunkSink(observer, engine::wakeup, maxPendingTokens, metrics::requestEnded);
    sink.onCancel(engine::noteCancelled);
    var enqueuedAt = clock.instant();
    int[] prompt;
    SamplingParams sampling;
    try {
      checkNotDraining();
      prompt = Protos.promptTokens(request.getPromptTokenIdsList(), model);
      sampling = Protos.sampling(request.getSampling(), request.getLogprobs(), request.getTopLogprobs(), random);
    } catch (StatusRuntimeException e) {
      sink.fail(e.getStatus());
      return;
    }
    int maxTokens = (int) Math.min(Integer.MAX_VALUE, Integer.toUnsignedLong(request.getMaxTokens()));
    if (request.getReservationId().isEmpty()) {
      if (request.hasFirstToken()) {
        sink.fail(Status.INVALID_ARGUMENT.withDescription(
            "first_token: set without reservation_id (expected: both for disaggregated, neither for colocated)"));
        return;
      }
      engine.submit(DecodeStream.colocated(request.getRequestId(), prompt, sampling, maxTokens,
          request.getStopList(), sink, enqueuedAt));
      return;
    }
    if (!request.hasFirstToken()) {
      sink.fail(Status.INVALID_ARGUMENT.withDescription(
          "first_token: missing (expected: the token the prefill worker sampled, with reservation_id)"));
      return;
    }
    String reservationId = request.getReservationId();
    CompletableFuture<ReservationTable.Claimed> claim = reservations.claim(reservationId);
    // a client that goes away while the cache is still in flight releases the reservation
    sink.onCancel(() -> reservations.release(reservationId));
    claim.whenComplete((claimed, error) -> {
      if (error != null) {
        sink.fail(Statuses.of(error));
        return;
      }
      int[] cached = claimed.kvImport().tokens();
      if (!Arrays.equals(cached, prompt)) {
        claimed.reservation().close();
        engine.wakeup();
        sink.fail(Status.FAILED_PRECONDITION.withDescription("reservation " + reservationId + " holds the KV of "
            + cached.length + " tokens that differ from prompt_token_ids (" + prompt.length + " tokens)"));
        return;
      }
      engine.submit(DecodeStream.imported(request.getRequestId(), prompt, sampling, maxTokens,
          request.getStopList(), sink, enqueuedAt, claimed.reservation(), claimed.kvImport(),
          Protos.sampledToken(request.getFirstToken())));
    });
  }

  private void checkNotDraining() {
    if (draining.getAsBoolean()) {
      throw Status.UNAVAILABLE.withDescription("decode worker is draining").asRuntimeException();
    }
  }
}
