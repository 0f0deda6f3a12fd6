package io.disagg.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.disagg.client.GenerateListener;
import io.disagg.client.GenerateResult;
import io.disagg.client.GenerateStream;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.GenerateResponse;
import io.disagg.proto.v1.RouterGrpc;
import io.disagg.proto.v1.ServeMode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Workers without room and workers that die, on a cluster of its own (its workers get killed): a prefill worker, a
 * decode worker with room for only {@value #TINY_BLOCKS} blocks of 16 tokens and a roomy one. Each test kills what
 * it needs dead itself, so the order only keeps the roomy worker alive for the first test.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WorkerFailureE2ETest {
  private static final int TINY_BLOCKS = 4;
  /** How long a failing request may take: a bound well below any deadline, so a hang cannot pass. */
  private static final Duration FAIL_FAST = Duration.ofSeconds(5);

  private static LocalCluster cluster;

  @BeforeAll
  static void startCluster() {
    cluster = LocalCluster.builder()
        .prefillWorker("prefill-0")
        .decodeWorker("decode-tiny", "--kv-blocks", Integer.toString(TINY_BLOCKS))
        .decodeWorker("decode-roomy", "--kv-blocks", "128")
        .routerArgs("--policy", "threshold", "--disaggregate-threshold", "32", "--health-interval", "200ms",
            "--health-timeout", "1000ms", "--request-timeout", "60s")
        .start();
  }

  @AfterAll
  static void stopCluster() {
    if (cluster != null) {
      cluster.close();
    }
  }

  /** Needs more than the tiny worker's 64 tokens of KV: a prompt of 66 tokens and 40 more to generate. */
  private static GenerateRequest tooBigForTiny(ServeMode mode) {
    return GenerateRequest.newBuilder().setText(Prompts.LONG).setMaxTokens(40).setForceMode(mode).build();
  }

  /** Requests that should succeed get 30 s; a hang fails the test instead of holding it for the default minute. */
  private static RouterGrpc.RouterBlockingStub stub() {
    return cluster.routerStub().withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  private static StatusRuntimeException failure(GenerateRequest request) {
    long start = System.nanoTime();
    // a deadline of twice the bound: a hanging request fails the time assertion below instead of blocking for long
    StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class,
        () -> cluster.routerStub().withDeadlineAfter(2 * FAIL_FAST.toMillis(), TimeUnit.MILLISECONDS)
            .generate(request));
    Duration took = Duration.ofNanos(System.nanoTime() - start);
    assertThat(e).as("request should have failed").isNotNull();
    assertThat(took).as("time to fail (%s)", e.getStatus()).isLessThan(FAIL_FAST);
    return e;
  }

  @Test
  @Order(1)
  void requestTooBigForTinyWorker_isServedByTheRoomyWorker() {
    for (ServeMode mode : new ServeMode[] {ServeMode.SERVE_MODE_DISAGGREGATED, ServeMode.SERVE_MODE_COLOCATED}) {
      for (int i = 0; i < 3; i++) {
        GenerateResponse r = stub().generate(tooBigForTiny(mode));

        assertThat(r.getTokenIdsCount()).isEqualTo(40);
        assertThat(r.getServedBy().getMode()).isEqualTo(mode);
        assertThat(r.getServedBy().getDecodeWorker()).isEqualTo(cluster.grpc("decode-roomy"));
      }
    }
  }

  @Test
  @Order(3)
  void onlyTinyWorkerLeft_requestTooBig_isRefusedWithResourceExhausted_smallOneServed() throws Exception {
    cluster.kill("decode-roomy");
    // Until a health poll notices the dead worker, a request may try it first and fail with UNAVAILABLE; either way
    // it must fail fast, and once the router knows, the tiny worker's refusal is what the client sees.
    AtomicReference<StatusRuntimeException> last = new AtomicReference<>();
    boolean exhausted = LocalCluster.await(Duration.ofSeconds(10), () -> {
      last.set(failure(tooBigForTiny(ServeMode.SERVE_MODE_COLOCATED)));
      assertThat(last.get().getStatus().getCode()).isIn(Status.Code.RESOURCE_EXHAUSTED, Status.Code.UNAVAILABLE);
      return last.get().getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED;
    });
    assertThat(exhausted).as("last failure: %s", last.get().getStatus()).isTrue();
    assertThat(last.get().getStatus().getDescription()).contains(cluster.grpc("decode-tiny"));
    assertThat(failure(tooBigForTiny(ServeMode.SERVE_MODE_DISAGGREGATED)).getStatus().getCode())
        .isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

    GenerateResponse small = stub().generate(GenerateRequest.newBuilder().setText(Prompts.SHORT)
        .setMaxTokens(8).build());

    assertThat(small.getServedBy().getDecodeWorker()).isEqualTo(cluster.grpc("decode-tiny"));
    assertThat(small.getTokenIdsCount()).isPositive();
  }

  @Test
  @Order(4)
  void killedPrefillWorker_forcedDisaggregationFailsFastWithUnavailable_autoIsServedColocated() {
    cluster.kill("decode-roomy");
    cluster.kill("prefill-0");
    GenerateRequest fits = GenerateRequest.newBuilder().setText(Prompts.MEDIUM).setMaxTokens(8).build();

    StatusRuntimeException forced = failure(fits.toBuilder().setForceMode(ServeMode.SERVE_MODE_DISAGGREGATED).build());
    GenerateResponse auto = stub().generate(fits);

    assertThat(forced.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(forced.getStatus().getDescription()).isNotBlank();
    assertThat(auto.getServedBy().getMode()).isEqualTo(ServeMode.SERVE_MODE_COLOCATED);
    assertThat(auto.getServedBy().getReason()).isIn("no_prefill_worker", "prefill_failed_fallback_colocated");
    assertThat(auto.getTokenIdsCount()).isEqualTo(8);
  }

  @Test
  @Order(2)
  void decodeWorkerKilledMidStream_streamFailsFastWithUnavailable() throws Exception {
    CompletableFuture<Void> firstChunk = new CompletableFuture<>();
    // Too big for the tiny worker, so it runs on the roomy one; 400 tokens keep it running while it is killed.
    GenerateStream stream = cluster.client().generateStream(GenerateRequest.newBuilder().setText(Prompts.LONG)
        .setMaxTokens(400).setForceMode(ServeMode.SERVE_MODE_COLOCATED).build(), new GenerateListener() {
          @Override
          public void onChunk(GenerateChunk chunk) {
            firstChunk.complete(null);
          }

          @Override
          public void onCompleted(GenerateResult result) {
            firstChunk.completeExceptionally(new AssertionError("finished before the kill: " + result));
          }

          @Override
          public void onError(StatusRuntimeException error) {
            firstChunk.completeExceptionally(error);
          }
        });
    firstChunk.get(30, TimeUnit.SECONDS);

    cluster.kill("decode-roomy");

    ExecutionException ended = catchThrowableOfType(ExecutionException.class,
        () -> stream.result().get(FAIL_FAST.toMillis(), TimeUnit.MILLISECONDS));
    assertThat(ended).as("the stream should fail once its decode worker is gone").isNotNull();
    assertThat(ended.getCause()).isInstanceOfSatisfying(StatusRuntimeException.class,
        e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE));
  }

  @Test
  @Order(5)
  void allDecodeWorkersKilled_requestsFailFastWithUnavailable() {
    cluster.kill("decode-roomy");
    cluster.kill("decode-tiny");

    StatusRuntimeException first = failure(GenerateRequest.newBuilder().setText(Prompts.SHORT).setMaxTokens(4).build());
    StatusRuntimeException second = failure(GenerateRequest.newBuilder().setText(Prompts.LONG).setMaxTokens(4).build());

    assertThat(first.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(first.getStatus().getDescription()).isNotBlank();
    assertThat(second.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }
}
