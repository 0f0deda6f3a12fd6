package io.disagg.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.decode.testing.SimulatedBackend;
import io.disagg.decode.testing.TestCertificates;
import io.disagg.worker.WorkerOptions;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The decode worker's kv-transfer TLS flags, up to the server context they make; prefill-worker's
 * DisaggregatedServingTest moves a KV cache over it.
 */
class DecodeWorkerKvTlsTest {
  @TempDir
  static Path dir;
  // keytool takes a second or two: one certificate for the class
  private static TestCertificates pem;

  @BeforeAll
  static void makeCertificate() throws Exception {
    pem = TestCertificates.create(dir);
  }

  /** Runs the decode worker's command line; every case here fails before a model is opened, so none is needed. */
  private static Run run(String... flags) {
    StringWriter err = new StringWriter();
    List<String> args = new ArrayList<>(List.of("--model", "absent.gguf"));
    args.addAll(List.of(flags));
    int code = DecodeWorkerMain.run(Map.of("DISAGG_KV_SECRET", SimulatedBackend.KV_SECRET),
        new PrintWriter(new StringWriter()), new PrintWriter(err, true), null, args.toArray(String[]::new));
    return new Run(code, err.toString());
  }

  private record Run(int code, String err) {}

  @Test
  void tlsCertAndKey_makeAServerContext() {
    SslContext context = DecodeWorkerMain.kvTlsServerContext(
        new WorkerOptions.KvTlsFiles(pem.certificate(), pem.privateKey()));

    assertThat(context.isServer()).isTrue();
  }

  @Test
  void noTlsFiles_makeNoContext() {
    assertThat(DecodeWorkerMain.kvTlsServerContext(null)).isNull();
  }

  @Test
  void tlsCertThatIsNotPem_isAUsageErrorNamingFlagsAndPaths() throws Exception {
    Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a certificate\n");

    Run r = run("--kv-tls-cert", garbage.toString(), "--kv-tls-key", pem.privateKey().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-cert " + garbage, "--kv-tls-key " + pem.privateKey(),
        "File does not contain valid certificates: " + garbage).doesNotContain("\tat ");
  }

  @Test
  void tlsKeyThatIsACertificate_isAUsageErrorNamingTheKeyFile() {
    Run r = run("--kv-tls-cert", pem.certificate().toString(), "--kv-tls-key", pem.certificate().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-key " + pem.certificate(),
        "File does not contain valid private key: " + pem.certificate()).doesNotContain("\tat ");
  }

  @Test
  void tlsKeyOfAnotherCertificate_isAUsageError() throws Exception {
    TestCertificates other = TestCertificates.create(dir);

    Run r = run("--kv-tls-cert", pem.certificate().toString(), "--kv-tls-key", other.privateKey().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-key " + other.privateKey() + " does not belong to --kv-tls-cert "
        + pem.certificate()).doesNotContain("\tat ");
  }

  @Test
  void tlsCertWithoutKey_isAUsageError() {
    Run r = run("--kv-tls-cert", pem.certificate().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-cert and --kv-tls-key go together");
  }

  @Test
  void tlsTrust_isRefusedByADecodeWorker() {
    Run r = run("--kv-tls-trust", pem.certificate().toString());

    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--kv-tls-trust: used by prefill workers only");
  }

  @Test
  void builder_refusesAClientContext() throws Exception {
    SslContext client = SslContextBuilder.forClient().build();
    try (SimulatedBackend backend = SimulatedBackend.create()) {
      DecodeWorkerServer.Builder builder = DecodeWorkerServer.builder(backend);

      assertThatThrownBy(() -> builder.kvSslContext(client))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("kvSslContext: a client context (expected: a server context)");
    }
  }
}
