package io.disagg.prefill.internal;

import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.WorkerHealth;
import io.disagg.worker.Protos;
import io.disagg.worker.WorkerMetrics;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Clock;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;
import java.util.random.RandomGenerator;

/** The PrefillWorker gRPC service: validates requests and queues them on the {@link PrefillEngine}. */
public final class PrefillService extends PrefillWorkerGrpc.PrefillWorkerImplBase {
  private final ModelInfo model;
  private final PrefillEngine engine;
  private final Clock clock;
  private final RandomGenerator random;
  private final BooleanSupplier draining;
  private final LongFunction<WorkerHealth> health;
  private final WorkerMetrics metrics;

  /** @param health the Health answer for a caller knowing the given prefix-cache version */
  public PrefillService(ModelInfo model, PrefillEngine engine, Clock clock, RandomGenerator random,
      BooleanSupplier draining, LongFunction<WorkerHealth> health, WorkerMetrics metrics) {
    this.model = model;
    this.engine = engine;
    this.clock = clock;
    this.random = random;
    this.draining = draining;
    this.health = health;
    this.metrics = metrics;
  }

  @Override
  public void prefill(PrefillRequest request, StreamObserver<PrefillResponse> responseObserver) {
    ServerCallStreamObserver<PrefillResponse> observer = (ServerCallStreamObserver<PrefillResponse>) responseObserver;
    int[] prompt;
    SamplingParams sampling;
    try {
      if (draining.getAsBoolean()) {
        throw Status.UNAVAILABLE.withDescription("prefill worker is draining").asRuntimeException();
      }
      prompt = Protos.promptTokens(request.getPromptTokenIdsList(), model);
      sampling = Protos.sampling(request.getSampling(), request.getLogprobs(), request.getTopLogprobs(), random);
      if (request.getDecodeTarget().isEmpty()) {
        throw Protos.invalid("decode_target: empty (expected: the decode worker's kv address, host:port or unix:/path)");
      }
      if (request.getReservationId().isEmpty()) {
        throw Protos.invalid("reservation_id: empty (expected: the id the decode worker's ReserveKv granted)");
      }
    } catch (StatusRuntimeException e) {
      metrics.requestEnded(e.getStatus(), false);
      observer.onError(e);
      return;
    }
    engine.submit(new PrefillJob(request.getRequestId(), prompt, sampling, request.getDecodeTarget(),
        request.getReservationId(), clock.instant(), observer, engine::cancelled, metrics::requestEnded));
  }

  @Override
  public void health(HealthRequest request, StreamObserver<WorkerHealth> out) {
    out.onNext(health.apply(request.getKnownPrefixCacheVersion()));
    out.onCompleted();
  }
}
