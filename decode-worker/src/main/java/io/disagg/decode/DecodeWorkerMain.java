package io.disagg.decode;

import io.disagg.backend.spi.Backend;
import io.disagg.worker.WorkerCli;
import io.disagg.worker.WorkerCommand;
import io.disagg.worker.WorkerOptions;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import javax.net.ssl.SSLException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs a decode worker: {@code --model PATH} is required, every other flag has a default. Flags beat
 * {@code DISAGG_*} environment variables, which beat the {@code --config} properties file. Prints the ready line on
 * stdout once serving; on SIGTERM it drains (finishing running sequences, up to {@code --drain-timeout}) and closes.
 * With {@code --kv-tls-cert} and {@code --kv-tls-key} its kv-transfer server accepts TLS only.
 */
@Command(name = "decode-worker", mixinStandardHelpOptions = true,
    description = "Disagg decode worker: receives KV caches, decodes with continuous batching, serves colocated.")
public final class DecodeWorkerMain extends WorkerCommand {

  @Option(names = "--kv-port", defaultValue = "0", description = "kv-transfer TCP port; 0 picks one (default: 0).")
  int kvPort;

  @Option(names = "--kv-unix-socket", description = "Serve kv-transfer on this Unix socket instead of TCP.")
  Path kvUnixSocket;

  @Option(names = "--kv-advertise",
      description = "kv-transfer address to hand to prefill workers when the bound one is not reachable by them.")
  String kvAdvertise;

  @Option(names = "--worker-id", description = "Id reported in Health (default: decode-<random>).")
  String workerId;

  @Option(names = "--max-batch-tokens", defaultValue = "2048",
      description = "Most tokens per engine step, colocated prompt tokens included (default: ${DEFAULT-VALUE}).")
  int maxBatchTokens;

  @Option(names = "--max-batch-size", defaultValue = "64",
      description = "Most sequences per decode step (default: ${DEFAULT-VALUE}).")
  int maxBatchSize;

  @Option(names = "--queue-capacity", defaultValue = "256",
      description = "Most Decode requests waiting for admission (default: ${DEFAULT-VALUE}).")
  int queueCapacity;

  @Option(names = "--reservation-timeout-ms", defaultValue = "30000",
      description = "Unused reservations are released after this long (default: ${DEFAULT-VALUE}).")
  long reservationTimeoutMs;

  @Option(names = "--drain-timeout-ms", defaultValue = "30000",
      description = "On SIGTERM, wait this long for running sequences (default: ${DEFAULT-VALUE}).")
  long drainTimeoutMs;

  private DecodeWorkerMain(CountDownLatch stop) {
    super(stop);
  }

  public static void main(String... args) {
    WorkerCli.exitOnFailure(run(args));
  }

  /** Parses {@code args}, runs the worker until SIGTERM (or the JVM exits) and returns the exit code. */
  public static int run(String... args) {
    return WorkerCli.execute(new DecodeWorkerMain(null), args);
  }

  /**
   * As {@link #run(String...)}, for in-process callers: reads {@code env} instead of the process environment, and
   * stops (drain, close, return 0) when {@code stop} is counted down instead of on SIGTERM.
   */
  public static int run(
      Map<String, String> env, PrintWriter out, PrintWriter err, CountDownLatch stop, String... args) {
    return WorkerCli.execute(new DecodeWorkerMain(stop), env, out, err, args);
  }

  @Override
  public Integer call() throws Exception {
    String kvSecret = options().requireKvSecret(spec(), "prefill workers");
    SslContext kvTls;
    // before the backend opens: a bad TLS file is a usage error that costs no model load
    try {
      kvTls = kvTlsServerContext(options().kvTlsServerFiles());
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec().commandLine(), e.getMessage(), e);
    }
    Backend opened = options().openBackend(maxBatchTokens);
    DecodeWorkerServer.Builder b = configure(opened, () -> {
      DecodeWorkerServer.Builder settings = DecodeWorkerServer.builder(opened)
          .host(options().host())
          .grpcPort(options().grpcPort())
          .kvPort(kvPort)
          .kvUnixSocket(kvUnixSocket)
          .kvSecret(kvSecret)
          .maxBatchSize(maxBatchSize)
          .maxBatchTokens(maxBatchTokens)
          .queueCapacity(queueCapacity)
          .reservationTimeout(Duration.ofMillis(reservationTimeoutMs));
      options().applyMetrics(settings);
      if (workerId != null) {
        settings.workerId(workerId);
      }
      if (kvAdvertise != null) {
        settings.kvAdvertise(kvAdvertise);
      }
      if (kvTls != null) {
        settings.kvSslContext(kvTls);
      }
      return settings;
    });
    return serve(b.build().start(), Duration.ofMillis(drainTimeoutMs), "sequences still running");
  }

  /**
   * The kv-transfer server context of the {@code --kv-tls-cert} and {@code --kv-tls-key} files, or null (plaintext)
   * when {@code files} is null.
   *
   * @throws IllegalArgumentException naming both flags and files when they are no PEM certificate chain and PKCS#8
   *     private key
   */
  static SslContext kvTlsServerContext(WorkerOptions.KvTlsFiles files) {
    if (files == null) {
      return null;
    }
    SslContext context;
    try {
      context = SslContextBuilder.forServer(files.certificateChain().toFile(), files.privateKey().toFile()).build();
    } catch (SSLException | IllegalArgumentException e) {
      // Netty's message names the file it refused; its cause says why
      String why = e.getCause() == null ? e.getMessage() : e.getMessage() + ": " + e.getCause().getMessage();
      throw new IllegalArgumentException("--kv-tls-cert " + files.certificateChain() + ", --kv-tls-key "
          + files.privateKey() + " (expected: a PEM certificate chain and its PEM PKCS#8 private key; " + why + ")",
          e);
    }
    requireKeyOfCertificate(files);
    return context;
  }

  /**
   * Refuses a key that does not belong to the chain's first certificate: neither TLS engine checks that when the
   * context is built, so the mistake would surface only as every push failing its handshake. The key signs a random
   * challenge and the certificate's public key must verify it.
   */
  private static void requireKeyOfCertificate(WorkerOptions.KvTlsFiles files) {
    String mismatch = "--kv-tls-key " + files.privateKey() + " does not belong to --kv-tls-cert "
        + files.certificateChain();
    try {
      X509Certificate certificate;
      try (InputStream in = Files.newInputStream(files.certificateChain())) {
        certificate = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificates(in)
            .iterator().next();
      }
      PublicKey publicKey = certificate.getPublicKey();
      String signing = switch (publicKey.getAlgorithm()) {
        case "EC" -> "SHA256withECDSA";
        case "RSA" -> "SHA256withRSA";
        case "Ed25519", "Ed448", "EdDSA" -> publicKey.getAlgorithm();
        default -> null; // another key type: the handshake will tell
      };
      if (signing == null) {
        return;
      }
      String pem = Files.readString(files.privateKey());
      if (!pem.contains("-----BEGIN PRIVATE KEY-----")) {
        return; // a form the engine took but this check does not read (e.g. OpenSSL's traditional EC or RSA PEM)
      }
      String body = pem.replaceAll("-----(BEGIN|END) PRIVATE KEY-----", "").replaceAll("\\s", "");
      PrivateKey key;
      try {
        key = KeyFactory.getInstance(publicKey.getAlgorithm())
            .generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(body)));
      } catch (InvalidKeySpecException | IllegalArgumentException e) {
        throw new IllegalArgumentException(mismatch + " (a " + publicKey.getAlgorithm() + " certificate, another "
            + "kind of key)", e);
      }
      byte[] challenge = new byte[32];
      new SecureRandom().nextBytes(challenge);
      Signature signer = Signature.getInstance(signing);
      signer.initSign(key);
      signer.update(challenge);
      byte[] signature = signer.sign();
      Signature verifier = Signature.getInstance(signing);
      verifier.initVerify(publicKey);
      verifier.update(challenge);
      if (!verifier.verify(signature)) {
        throw new IllegalArgumentException(mismatch + " (a signature made with the key does not verify with the "
            + "certificate's public key)");
      }
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalArgumentException(mismatch + " (cannot check: " + e.getMessage() + ")", e);
    }
  }
}
