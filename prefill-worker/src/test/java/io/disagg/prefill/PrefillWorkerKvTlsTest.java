package io.disagg.prefill;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.decode.DecodeWorkerMain;
import io.disagg.decode.testing.LineCapture;
import io.disagg.decode.testing.RealModel;
import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.StreamResult;
import io.disagg.decode.testing.TestCertificates;
import io.disagg.proto.v1.DecodeRequest;
import io.disagg.proto.v1.DecodeWorkerGrpc;
import io.disagg.proto.v1.PrefillRequest;
import io.disagg.proto.v1.PrefillWorkerGrpc;
import io.disagg.proto.v1.ReserveKvRequest;
import io.disagg.proto.v1.ReserveKvResponse;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The prefill worker's kv-transfer TLS flag and the client context it makes, and both workers' TLS flags moving a KV
 * cache on stories260K. DisaggregatedServingTest covers TLS at the builders: other host names, refused pushes.
 */
class PrefillWorkerKvTlsTest {
  @TempDir
  static Path dir;
  // keytool takes a second or two: one certificate for the class
  private static TestCertificates pem;

  @BeforeAll
  static void makeCertificate() throws Exception {
    pem = TestCertificates.create(dir);
  }

  /** Runs the prefill worker's command line; every case here fails before a model is opened, so none is needed. */
  private static Run run(String... flags) {
    StringWriter err = new StringWriter();
    List<String> args = new ArrayList<>(List.of("--model", "absent.gguf"));
    args.addAll(List.of(flags));
    int code = PrefillWorkerMain.run(Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET),
        new PrintWriter(new StringWriter()), new PrintWriter(err, true), null, args.toArray(String[]::new));
    return new Run(code, err.toString());
  }

  private record Run(int code, String err) {}

  @Test
  void tlsTrust_makesAClientContext() {
    SslContext context = PrefillWorkerMain.kvTlsClientContext(pem.certificate());

    assertThat(context.isClient()).isTrue();
  }

  @Test
  void noTlsTrust_makesNoContext() {
    assertThat(PrefillWorkerMain.kvTlsClientContext(null)).isNull();
  }

  @Test
  void tlsTrustThatIsNotPem_isAUsageErrorNamingFlagAndPath() throws Exception {
    Path garbage = Files.writeString(dir.resolve("garbage.pem"), "-----BEGIN CERTIFICATE-----\nnot base64!\n");

    Run r = run("--kv-tls-trust", garbage.toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-trust " + garbage, "File does not contain valid certificates: " + garbage)
        .doesNotContain("\tat ");
  }

  @Test
  void tlsTrustThatIsAPrivateKey_isAUsageError() {
    Run r = run("--kv-tls-trust", pem.privateKey().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-trust " + pem.privateKey(), "expected: one or more PEM certificates");
  }

  @Test
  void tlsTrustThatDoesNotExist_isAUsageErrorNamingFlagAndPath() {
    Path missing = dir.resolve("missing.pem");

    Run r = run("--kv-tls-trust", missing.toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).startsWith("--kv-tls-trust: " + missing + " (cannot read: no such file)");
  }

  @Test
  void tlsCertAndKey_areRefusedByAPrefillWorker() {
    Run r = run("--kv-tls-cert", pem.certificate().toString(), "--kv-tls-key", pem.privateKey().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-cert: used by decode workers only");
  }

  @Test
  void builder_refusesAServerContext() throws Exception {
    SslContext server = SslContextBuilder.forServer(pem.certificate().toFile(), pem.privateKey().toFile()).build();
    try (SimulatedBackend backend = SimulatedBackend.create()) {
      PrefillWorkerServer.Builder builder = PrefillWorkerServer.builder(backend);

      assertThatThrownBy(() -> builder.kvSslContext(server))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("kvSslContext: a server context (expected: a client context)");
    }
  }

  @Test
  void workersStartedWithTheTlsFlags_moveAKvCacheOverTls_andRefuseAPlaintextPush() throws Exception {
    Path model = RealModel.path();
    Assumptions.assumeTrue(Files.isRegularFile(model), "stories260K model absent: skipping");
    // the decode worker takes its certificate and key from the environment, the prefill worker its trust from --config
    Path config = Files.writeString(dir.resolve("prefill.properties"), "kv-tls-trust=" + pem.certificate() + "\n");
    LineCapture decodeOut = new LineCapture("ready:");
    LineCapture prefillOut = new LineCapture("ready:");
    CountDownLatch stop = new CountDownLatch(1);
    List<AutoCloseable> closeables = new ArrayList<>();
    try (ExecutorService workers = Executors.newVirtualThreadPerTaskExecutor()) {
      CompletableFuture<Integer> decodeExit = CompletableFuture.supplyAsync(() -> DecodeWorkerMain.run(
          Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET, "DISAGG_KV_TLS_CERT", pem.certificate().toString(),
              "DISAGG_KV_TLS_KEY", pem.privateKey().toString()),
          decodeOut.printWriter(), new PrintWriter(new StringWriter()), stop, "--model", model.toString(),
          "--kv-blocks", "64"), workers);
      CompletableFuture<Integer> prefillExit = CompletableFuture.supplyAsync(() -> PrefillWorkerMain.run(
          Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET), prefillOut.printWriter(),
          new PrintWriter(new StringWriter()), stop, "--model", model.toString(), "--kv-blocks", "64",
          "--config", config.toString()), workers);
      try {
        Matcher decodeReady = Pattern.compile("disagg decode-worker ready: grpc=127\\.0\\.0\\.1:(\\d+) kv=\\S+")
            .matcher(decodeOut.line.get(60, TimeUnit.SECONDS));
        Matcher prefillReady = Pattern.compile("disagg prefill-worker ready: grpc=127\\.0\\.0\\.1:(\\d+)")
            .matcher(prefillOut.line.get(60, TimeUnit.SECONDS));
        assertThat(decodeReady.matches()).isTrue();
        assertThat(prefillReady.matches()).isTrue();
        ManagedChannel dc = channel(Integer.parseInt(decodeReady.group(1)), closeables);
        ManagedChannel pc = channel(Integer.parseInt(prefillReady.group(1)), closeables);
        int[] prompt = RealModel.prompt(3, 20);
        var greedy = io.disagg.proto.v1.SamplingParams.getDefaultInstance();

        StreamResult disaggregated = DisaggregatedServingTest.disaggregate(
            PrefillWorkerGrpc.newBlockingStub(pc).withDeadlineAfter(60, TimeUnit.SECONDS),
            DecodeWorkerGrpc.newBlockingStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS), DecodeWorkerGrpc.newStub(dc),
            "tls-d", prompt, greedy, 8).done.get(60, TimeUnit.SECONDS);
        StreamResult colocated = new StreamResult();
        DecodeWorkerGrpc.newStub(dc).withDeadlineAfter(60, TimeUnit.SECONDS).decode(DecodeRequest.newBuilder()
            .setRequestId("tls-c").addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList()).setMaxTokens(8)
            .build(), colocated);

        assertThat(disaggregated.tokenIds()).isNotEmpty().isEqualTo(colocated.done.get(60, TimeUnit.SECONDS)
            .tokenIds());
        // and the decode worker does take TLS only: a prefill worker without a client context is refused
        assertThat(plaintextPushTo(dc, closeables).getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
      } finally {
        for (AutoCloseable c : closeables.reversed()) {
          c.close();
        }
        stop.countDown();
      }
      assertThat(decodeExit.get(30, TimeUnit.SECONDS)).isZero();
      assertThat(prefillExit.get(30, TimeUnit.SECONDS)).isZero();
    }
  }

  private static ManagedChannel channel(int port, List<AutoCloseable> closeables) {
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    closeables.add(() -> {
      channel.shutdownNow();
      channel.awaitTermination(5, TimeUnit.SECONDS);
    });
    return channel;
  }

  private static StatusRuntimeException plaintextPushTo(ManagedChannel decode, List<AutoCloseable> closeables) {
    PrefillWorkerServer plain = PrefillWorkerServer.builder(RealModel.open(64)).kvSecret(SimulatedBackend.KV_SECRET)
        .meterRegistry(new SimpleMeterRegistry()).build().start();
    closeables.add(plain);
    int[] prompt = RealModel.prompt(4, 20);
    ReserveKvResponse reservation = DecodeWorkerGrpc.newBlockingStub(decode).reserveKv(ReserveKvRequest.newBuilder()
        .setRequestId("plain").setPromptTokens(prompt.length).setMaxNewTokens(4).build());
    try {
      PrefillWorkerGrpc.newBlockingStub(channel(plain.grpcPort(), closeables)).withDeadlineAfter(60, TimeUnit.SECONDS)
          .prefill(PrefillRequest.newBuilder().setRequestId("plain")
              .addAllPromptTokenIds(Arrays.stream(prompt).boxed().toList())
              .setDecodeTarget(reservation.getKvAddress()).setReservationId(reservation.getReservationId()).build());
    } catch (StatusRuntimeException e) {
      return e;
    }
    throw new AssertionError("a plaintext push to a TLS-only decode worker succeeded");
  }
}
