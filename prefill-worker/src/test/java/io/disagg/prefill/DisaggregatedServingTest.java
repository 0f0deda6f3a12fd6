package io.disagg.prefill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.decode.DecodeWorkerServer;
import io.disagg.decode.testing.GatedBackend;
import io.disagg.decode.testing.Reference;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.decode.testing.TestCertificates;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.FinishReason;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.disagg.proto.v1.WorkerHealth;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Prefill worker → kv-transfer → decode worker, both real servers on loopback ports, driven as the router does. */
class DisaggregatedServingTest {
  @TempDir
  static Path certificates;
  // keytool takes a second or two: the TLS tests share these. Neither names 127.0.0.1, where the decode worker listens
  private static TestCertificates decodeCertificate;
  private static TestCertificates otherCertificate;
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @BeforeAll
  static void makeCertificates() throws Exception {
    decodeCertificate = TestCertificates.createFor(certificates, "decode.example");
    otherCertificate = TestCertificates.createFor(certificates, "other.example");
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables.reversed()) {
      c.close();
    }
  }

  private DecodeWorkerServer decodeWorker(Backend backend) {
    DecodeWorkerServer s = DecodeWorkerServer.builder(backend).kvSecret(SimulatedBackend.KV_SECRET)
        .meterRegistry(new SimpleMeterRegistry()).build().start();
    closeables.add(s);
    return s;
  }

  private PrefillWorkerServer prefillWorker(PrefillWorkerServer.Builder b) {
    PrefillWorkerServer s = b.kvSecret(SimulatedBackend.KV_SECRET).meterRegistry(new SimpleMeterRegistry()).build()
        .start();
    closeables.add(s);
    return s;
  }

  private ManagedChannel channel(int port) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  private static int[] prompt(int seed, int length) {
    return IntStream.range(0, length).map(i -> i == 0 ? SimulatedBackend.BOS : 2 + (seed * 7 + i * 13) % 62)
        .toArray();
  }

  private static List<Integer> ids(int[] tokens) {
    return Arrays.stream(tokens).boxed().toList();
  }

  /** Steps 1-3 of a disaggregated request, as the router runs them. */
  static StreamResult disaggregate(PrefillWorkerGrpc.PrefillWorkerBlockingStub prefill,
      DecodeWorkerGrpc.DecodeWorkerBlockingStub decodeBlocking, DecodeWorkerGrpc.DecodeWorkerStub decode,
      String requestId, int[] prompt, io.disagg.proto.v1.SamplingParams sampling, int maxTokens) {
    ReserveKvResponse reservation = decodeBlocking.reserveKv(ReserveKvRequest.newBuilder()
        .setRequestId(requestId).setPromptTokens(prompt.length).setMaxNewTokens(maxTokens).build());
    PrefillResponse prefilled = prefill.prefill(PrefillRequest.newBuilder()
        .setRequestId(requestId)
        .addAllPromptTokenIds(ids(prompt))
        .setSampling(sampling)
        .setDecodeTarget(reservation.getKvAddress())
        .setReservationId(reservation.getReservationId())
        .build());
    StreamResult result = new StreamResult();
    decode.withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId(requestId)
        .addAllPromptTokenIds(ids(prompt))
        .setSampling(sampling)
        .setMaxTokens(maxTokens)
        .setReservationId(reservation.getReservationId())
        .setFirstToken(prefilled.getFirstToken())
        .build(), result);
    return result;
  }

  private static StreamResult colocated(DecodeWorkerGrpc.DecodeWorkerStub decode, String requestId, int[] prompt,
      io.disagg.proto.v1.SamplingParams sampling, int maxTokens) {
    StreamResult result = new StreamResult();
    decode.withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId(requestId)
        .addAllPromptTokenIds(ids(prompt))
        .setSampling(sampling)
        .setMaxTokens(maxTokens)
        .build(), result);
    return result;
  }

  @Test
  void disaggregated_greedy_equalsColocatedAndDirectTokens() throws Exception {
    int[] prompt = prompt(2, 23);
    List<Integer> expected;
    try (SimulatedBackend direct = SimulatedBackend.create()) {
      expected = Reference.generate(direct, prompt, SamplingParams.greedy(), 25);
    }
    DecodeWorkerServer d = decodeWorker(SimulatedBackend.create());
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));
    ManagedChannel dc = channel(d.grpcPort());
    var greedy = io.disagg.proto.v1.SamplingParams.getDefaultInstance();
    int freeBefore = d.health().getFreeKvBlocks();

    StreamResult disagg = disaggregate(PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())),
        DecodeWorkerGrpc.newBlockingStub(dc), DecodeWorkerGrpc.newStub(dc), "r1", prompt, greedy, 25)
        .done.get(30, TimeUnit.SECONDS);
    StreamResult colo = colocated(DecodeWorkerGrpc.newStub(dc), "r2", prompt, greedy, 25).done.get(30, TimeUnit.SECONDS);

    assertThat(disagg.tokenIds()).isEqualTo(expected).isEqualTo(colo.tokenIds());
    assertThat(disagg.text()).isEqualTo(colo.text());
    assertThat(disagg.finishReason()).isEqualTo(FinishReason.FINISH_REASON_LENGTH);
    assertThat(d.stats().transfersCompleted()).isEqualTo(1);
    assertThat(d.stats().transferBytes()).isEqualTo(6L * 2 * 2 * 4 * 4 * 4); // 6 blocks of 4 tokens, 2 layers
    assertThat(d.stats().imports()).isEqualTo(1);
    assertThat(p.stats().transfersCompleted()).isEqualTo(1);
    assertThat(p.stats().transferBytes()).isEqualTo(d.stats().transferBytes());
    // the prefill worker closed its copy once the decode worker acknowledged it
    assertThat(p.health().getFreeKvBlocks()).isEqualTo(p.health().getTotalKvBlocks());
    assertThat(awaitFreeBlocks(DecodeWorkerGrpc.newBlockingStub(dc), freeBefore)).isEqualTo(freeBefore);
  }

  @Test
  void disaggregated_seededSampling_equalsColocated() throws Exception {
    DecodeWorkerServer d = decodeWorker(SimulatedBackend.create());
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));
    ManagedChannel dc = channel(d.grpcPort());
    var seeded = io.disagg.proto.v1.SamplingParams.newBuilder()
        .setTemperature(0.8f).setSeed(42).setHasSeed(true).build();
    int[] prompt = prompt(9, 11);

    StreamResult disagg = disaggregate(PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())),
        DecodeWorkerGrpc.newBlockingStub(dc), DecodeWorkerGrpc.newStub(dc), "s1", prompt, seeded, 30)
        .done.get(30, TimeUnit.SECONDS);
    StreamResult colo = colocated(DecodeWorkerGrpc.newStub(dc), "s2", prompt, seeded, 30).done.get(30, TimeUnit.SECONDS);

    assertThat(disagg.tokenIds()).hasSize(30).isEqualTo(colo.tokenIds());
  }

  @Test
  void decode_outgrowsItsReservationWithThePoolEmpty_endsWithResourceExhaustedInsteadOfHanging() throws Exception {
    // 8 blocks of 4 tokens on the decode side
    DecodeWorkerServer d = decodeWorker(new SimulatedBackend(8, 4, 256, 0));
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));
    ManagedChannel dc = channel(d.grpcPort());
    DecodeWorkerGrpc.DecodeWorkerBlockingStub decodeBlocking = DecodeWorkerGrpc.newBlockingStub(dc);
    int[] prompt = prompt(3, 4);
    ReserveKvResponse reservation = decodeBlocking.reserveKv(ReserveKvRequest.newBuilder()
        .setRequestId("tight").setPromptTokens(4).setMaxNewTokens(4).build());
    assertThat(reservation.getReservedBlocks()).isEqualTo(2);
    // every other block goes to a reservation nobody uses
    assertThat(decodeBlocking.reserveKv(ReserveKvRequest.newBuilder().setRequestId("hog").setPromptTokens(20)
        .setMaxNewTokens(4).build()).getReservedBlocks()).isEqualTo(6);
    PrefillResponse prefilled = PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort()))
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .prefill(PrefillRequest.newBuilder().setRequestId("tight").addAllPromptTokenIds(ids(prompt))
            .setDecodeTarget(reservation.getKvAddress()).setReservationId(reservation.getReservationId()).build());

    // the router asks for more tokens than it reserved room for: the 9th position needs a third block
    StreamResult r = new StreamResult();
    DecodeWorkerGrpc.newStub(dc).withDeadlineAfter(30, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
        .setRequestId("tight").addAllPromptTokenIds(ids(prompt)).setMaxTokens(50)
        .setReservationId(reservation.getReservationId()).setFirstToken(prefilled.getFirstToken()).build(), r);

    assertThatThrownBy(() -> r.done.get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause()
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(e.getStatus().getDescription()).contains("mid-decode");
        });
    assertThat(awaitFreeBlocks(decodeBlocking, 2)).isEqualTo(2);
  }

  @Test
  void prefill_waitingPrompts_areBatchedWithinTheTokenBudget() throws Exception {
    DecodeWorkerServer d = decodeWorker(SimulatedBackend.create());
    GatedBackend gated = new GatedBackend(SimulatedBackend.create());
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(gated).maxBatchTokens(40));
    ManagedChannel dc = channel(d.grpcPort());
    PrefillWorkerGrpc.PrefillWorkerBlockingStub prefill = PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort()));
    gated.allowPrefills(0);

    List<CompletableFuture<StreamResult>> results = new ArrayList<>();
    List<List<Integer>> expected = new ArrayList<>();
    try (SimulatedBackend direct = SimulatedBackend.create()) {
      for (int i = 0; i < 7; i++) {
        expected.add(Reference.generate(direct, prompt(i, 10), SamplingParams.greedy(), 8));
      }
    }
    // a thread per request: each blocks in Prefill until the gate opens
    var callers = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    closeables.add(callers::shutdownNow);
    for (int i = 0; i < 7; i++) {
      int n = i;
      results.add(CompletableFuture.supplyAsync(() -> disaggregate(prefill, DecodeWorkerGrpc.newBlockingStub(dc),
          DecodeWorkerGrpc.newStub(dc), "b" + n, prompt(n, 10), io.disagg.proto.v1.SamplingParams.getDefaultInstance(),
          8), callers));
      if (i == 0) {
        assertThat(gated.awaitPrefillBlocked(30, TimeUnit.SECONDS)).isTrue();
      }
    }
    PrefillWorkerGrpc.PrefillWorkerBlockingStub health = PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort()));
    WorkerHealth h;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    do {
      h = health.health(HealthRequest.getDefaultInstance());
    } while (h.getQueueDepth() < 6 && System.nanoTime() < deadline);
    assertThat(h.getQueueDepth()).isEqualTo(6);
    assertThat(h.getTokensInFlight()).isEqualTo(70);
    assertThat(h.getRole()).isEqualTo(WorkerHealth.Role.ROLE_PREFILL);

    gated.openPrefills();
    for (int i = 0; i < 7; i++) {
      assertThat(results.get(i).get(30, TimeUnit.SECONDS).done.get(30, TimeUnit.SECONDS).tokenIds())
          .isEqualTo(expected.get(i));
    }
    // the first prompt ran alone; the six that waited went in batches of at most 40 tokens (4 prompts of 10)
    assertThat(gated.prefillBatchSizes()).containsExactly(1, 4, 2);
    assertThat(p.stats().batches()).isEqualTo(3);
    assertThat(d.stats().transfersCompleted()).isEqualTo(7);
  }

  @Test
  void prefill_queueFull_isResourceExhausted() throws Exception {
    DecodeWorkerServer d = decodeWorker(SimulatedBackend.create());
    GatedBackend gated = new GatedBackend(SimulatedBackend.create());
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(gated).queueCapacity(1));
    ManagedChannel dc = channel(d.grpcPort());
    PrefillWorkerGrpc.PrefillWorkerStub prefill = PrefillWorkerGrpc.newStub(channel(p.grpcPort()));
    gated.allowPrefills(0);

    List<Responses> calls = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ReserveKvResponse r = DecodeWorkerGrpc.newBlockingStub(dc).reserveKv(ReserveKvRequest.newBuilder()
          .setRequestId("q" + i).setPromptTokens(5).setMaxNewTokens(5).build());
      Responses out = new Responses();
      prefill.withDeadlineAfter(30, TimeUnit.SECONDS).prefill(PrefillRequest.newBuilder()
          .setRequestId("q" + i).addAllPromptTokenIds(ids(prompt(i, 5)))
          .setDecodeTarget(r.getKvAddress()).setReservationId(r.getReservationId()).build(), out);
      calls.add(out);
      if (i == 0) {
        assertThat(gated.awaitPrefillBlocked(30, TimeUnit.SECONDS)).isTrue(); // the first is being prefilled
      }
      if (i == 1) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (p.health().getQueueDepth() < 1 && System.nanoTime() < deadline) {
          Thread.onSpinWait(); // the second call is on its way into the queue
        }
      }
    }

    assertThatThrownBy(() -> calls.get(2).done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
          assertThat(e.getStatus().getDescription()).contains("queue full");
        });
    gated.openPrefills();
    assertThat(calls.get(0).done.get(30, TimeUnit.SECONDS).getFirstToken().getTokenId()).isGreaterThan(1);
    assertThat(calls.get(1).done.get(30, TimeUnit.SECONDS).getKvTransferBytes()).isPositive();
  }

  @Test
  void prefill_unknownReservation_isFailedPreconditionAndFreesItsBlocks() throws Exception {
    DecodeWorkerServer d = decodeWorker(SimulatedBackend.create());
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));

    assertThatThrownBy(() -> PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort()))
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .prefill(PrefillRequest.newBuilder().setRequestId("x").addAllPromptTokenIds(ids(prompt(1, 6)))
            .setDecodeTarget(d.kvAddress()).setReservationId("no-such-reservation").build()))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
          assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.FAILED_PRECONDITION);
          assertThat(e.getStatus().getDescription()).contains("UNKNOWN_RESERVATION");
        });
    assertThat(p.stats().transfersFailed()).isEqualTo(1);
    assertThat(p.health().getFreeKvBlocks()).isEqualTo(p.health().getTotalKvBlocks());
  }

  @Test
  void prefill_cancelledWhileQueued_isNeverPrefilledOrPushed() throws Exception {
    DecodeWorkerServer d = decodeWorker(SimulatedBackend.create());
    GatedBackend gated = new GatedBackend(SimulatedBackend.create());
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(gated));
    ManagedChannel dc = channel(d.grpcPort());
    PrefillWorkerGrpc.PrefillWorkerStub prefill = PrefillWorkerGrpc.newStub(channel(p.grpcPort()));
    gated.allowPrefills(0);
    List<Responses> calls = new ArrayList<>();
    List<io.grpc.Context.CancellableContext> contexts = new ArrayList<>();
    for (int i = 0; i < 2; i++) {
      ReserveKvResponse r = DecodeWorkerGrpc.newBlockingStub(dc).reserveKv(ReserveKvRequest.newBuilder()
          .setRequestId("c" + i).setPromptTokens(6).setMaxNewTokens(4).build());
      Responses out = new Responses();
      io.grpc.Context.CancellableContext ctx = io.grpc.Context.current().withCancellation();
      ctx.run(() -> prefill.withDeadlineAfter(30, TimeUnit.SECONDS).prefill(PrefillRequest.newBuilder()
          .setRequestId(out.toString()).addAllPromptTokenIds(ids(prompt(1, 6)))
          .setDecodeTarget(r.getKvAddress()).setReservationId(r.getReservationId()).build(), out));
      calls.add(out);
      contexts.add(ctx);
      if (i == 0) {
        assertThat(gated.awaitPrefillBlocked(30, TimeUnit.SECONDS)).isTrue();
      }
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (p.health().getQueueDepth() < 1 && System.nanoTime() < deadline) {
      Thread.onSpinWait(); // the second call is on its way into the queue
    }

    contexts.get(1).cancel(null);
    assertThatThrownBy(() -> calls.get(1).done.get(30, TimeUnit.SECONDS))
        .cause()
        .isInstanceOfSatisfying(StatusRuntimeException.class,
            e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.CANCELLED));
    // the client learns of its own cancel at once; wait until the server has seen it too
    deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (p.health().getQueueDepth() > 0 && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertThat(p.health().getQueueDepth()).isZero();
    assertThat(p.health().getTokensInFlight()).isEqualTo(6); // only the prompt being prefilled
    gated.openPrefills();

    assertThat(calls.get(0).done.get(30, TimeUnit.SECONDS).getKvTransferBytes()).isPositive();
    assertThat(gated.prefillBatchSizes()).containsExactly(1);
    assertThat(p.stats().prefilled()).isEqualTo(1);
    assertThat(d.stats().transfersCompleted()).isEqualTo(1);
    contexts.get(0).cancel(null);
  }

  @Test
  void disaggregated_overUnixSocket_equalsColocated(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    DecodeWorkerServer d = DecodeWorkerServer.builder(SimulatedBackend.create()).kvSecret(SimulatedBackend.KV_SECRET)
        .meterRegistry(new SimpleMeterRegistry()).kvUnixSocket(dir.resolve("kv.sock")).build().start();
    closeables.add(d);
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));
    ManagedChannel dc = channel(d.grpcPort());
    var greedy = io.disagg.proto.v1.SamplingParams.getDefaultInstance();
    int[] prompt = prompt(8, 17);

    StreamResult disagg = disaggregate(PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())),
        DecodeWorkerGrpc.newBlockingStub(dc), DecodeWorkerGrpc.newStub(dc), "u1", prompt, greedy, 12)
        .done.get(30, TimeUnit.SECONDS);
    StreamResult colo = colocated(DecodeWorkerGrpc.newStub(dc), "u2", prompt, greedy, 12).done.get(30, TimeUnit.SECONDS);

    assertThat(d.kvAddress()).startsWith("unix:");
    assertThat(disagg.tokenIds()).hasSize(12).isEqualTo(colo.tokenIds());
    assertThat(d.stats().transfersCompleted()).isEqualTo(1);
  }

  /** A decode worker whose kv-transfer takes TLS only, with the server context its command line makes. */
  private DecodeWorkerServer tlsDecodeWorker(TestCertificates pem) throws Exception {
    SslContext server = SslContextBuilder.forServer(pem.certificate().toFile(), pem.privateKey().toFile()).build();
    DecodeWorkerServer d = DecodeWorkerServer.builder(SimulatedBackend.create()).kvSecret(SimulatedBackend.KV_SECRET)
        .meterRegistry(new SimpleMeterRegistry()).kvSslContext(server).build().start();
    closeables.add(d);
    return d;
  }

  @Test
  void disaggregated_overTls_equalsColocated_whateverHostTheCertificateNames() throws Exception {
    DecodeWorkerServer d = tlsDecodeWorker(decodeCertificate);
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create())
        .kvSslContext(PrefillWorkerMain.kvTlsClientContext(decodeCertificate.certificate())));
    ManagedChannel dc = channel(d.grpcPort());
    var greedy = io.disagg.proto.v1.SamplingParams.getDefaultInstance();
    int[] prompt = prompt(4, 19);

    StreamResult disagg = disaggregate(PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())),
        DecodeWorkerGrpc.newBlockingStub(dc), DecodeWorkerGrpc.newStub(dc), "t1", prompt, greedy, 12)
        .done.get(30, TimeUnit.SECONDS);
    StreamResult colo = colocated(DecodeWorkerGrpc.newStub(dc), "t2", prompt, greedy, 12).done.get(30, TimeUnit.SECONDS);

    // the certificate names decode.example, the push goes to 127.0.0.1: the kv secret authenticates, not the name
    assertThat(d.kvAddress()).startsWith("127.0.0.1:");
    assertThat(disagg.tokenIds()).hasSize(12).isEqualTo(colo.tokenIds());
    assertThat(d.stats().transfersCompleted()).isEqualTo(1);
    assertThat(p.stats().transferBytes()).isEqualTo(d.stats().transferBytes()).isPositive();
  }

  @Test
  void prefill_plaintextToATlsDecodeWorker_isUnavailableAndFreesItsBlocks() throws Exception {
    DecodeWorkerServer d = tlsDecodeWorker(decodeCertificate);
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));

    StatusRuntimeException refused = refusedPush(d, p, "plain");

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void prefill_trustingAnotherCertificate_isPermissionDeniedAndFreesItsBlocks() throws Exception {
    DecodeWorkerServer d = tlsDecodeWorker(decodeCertificate);
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create())
        .kvSslContext(PrefillWorkerMain.kvTlsClientContext(otherCertificate.certificate())));

    StatusRuntimeException refused = refusedPush(d, p, "untrusted");

    assertThat(refused.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
    assertThat(refused.getStatus().getDescription()).contains("AUTH_FAILED", "TLS");
  }

  /** Reserves on {@code d}, prefills on {@code p}, and returns how the push was refused, once both sides settled. */
  private StatusRuntimeException refusedPush(DecodeWorkerServer d, PrefillWorkerServer p, String requestId) {
    ReserveKvResponse reservation = DecodeWorkerGrpc.newBlockingStub(channel(d.grpcPort())).reserveKv(
        ReserveKvRequest.newBuilder().setRequestId(requestId).setPromptTokens(6).setMaxNewTokens(4).build());

    StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
        () -> PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort())).withDeadlineAfter(30, TimeUnit.SECONDS)
            .prefill(PrefillRequest.newBuilder().setRequestId(requestId).addAllPromptTokenIds(ids(prompt(1, 6)))
                .setDecodeTarget(reservation.getKvAddress()).setReservationId(reservation.getReservationId())
                .build()));
    assertThat(p.stats().transfersFailed()).isEqualTo(1);
    assertThat(p.health().getFreeKvBlocks()).isEqualTo(p.health().getTotalKvBlocks());
    assertThat(d.stats().transfersCompleted()).isZero();
    return refused;
  }

  @Test
  void prefill_badRequests_areInvalidArgument() {
    PrefillWorkerServer p = prefillWorker(PrefillWorkerServer.builder(SimulatedBackend.create()));
    PrefillWorkerGrpc.PrefillWorkerBlockingStub stub = PrefillWorkerGrpc.newBlockingStub(channel(p.grpcPort()))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
    PrefillRequest good = PrefillRequest.newBuilder().setRequestId("x").addAllPromptTokenIds(ids(prompt(1, 6)))
        .setDecodeTarget("127.0.0.1:1").setReservationId("r").build();

    for (PrefillRequest bad : List.of(
        good.toBuilder().clearPromptTokenIds().build(),
        good.toBuilder().addPromptTokenIds(999).build(),
        good.toBuilder().setDecodeTarget("").build(),
        good.toBuilder().setDecodeTarget("no port").build(),
        good.toBuilder().setReservationId("").build())) {
      assertThatThrownBy(() -> stub.prefill(bad))
          .isInstanceOfSatisfying(StatusRuntimeException.class,
              e -> assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
  }

  /** Polls Health (real RPCs, bounded to 10 s) until the pool has {@code expected} free blocks. */
  static int awaitFreeBlocks(DecodeWorkerGrpc.DecodeWorkerBlockingStub stub, int expected) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    int free;
    do {
      free = stub.health(HealthRequest.getDefaultInstance()).getFreeKvBlocks();
    } while (free != expected && System.nanoTime() < deadline);
    return free;
  }

  private static final class Responses implements StreamObserver<PrefillResponse> {
    final CompletableFuture<PrefillResponse> done = new CompletableFuture<>();
    private PrefillResponse last;

    @Override
    public void onNext(PrefillResponse value) {
      last = value;
    }

    @Override
    public void onError(Throwable t) {
      done.completeExceptionally(t);
    }

    @Override
    public void onCompleted() {
      done.complete(last);
    }
  }
}
