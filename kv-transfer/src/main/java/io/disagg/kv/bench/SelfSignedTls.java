package io.disagg.kv.bench;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;

/**
 * A throwaway self-signed EC certificate for {@code localhost} / {@code 127.0.0.1}, made with the JDK's own
 * {@code keytool} (the JDK has no public API to issue certificates, and no network is needed), with the server and
 * client {@link SslContext}s the kv-transfer builders take. For the benchmark's TLS leg and for tests; a deployment
 * configures its own certificate and key.
 */
public final class SelfSignedTls {
  private static final String ALIAS = "kv";
  private static final char[] PASSWORD = "changeit".toCharArray();

  private final SslContext server;
  private final SslContext client;

  private SelfSignedTls(SslContext server, SslContext client) {
    this.server = server;
    this.client = client;
  }

  /** Generates the key pair and certificate into a PKCS#12 file under {@code dir} (which must exist). */
  public static SelfSignedTls create(Path dir) throws IOException, GeneralSecurityException {
    Path keystore = dir.resolve("kv-tls-" + System.nanoTime() + ".p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    List<String> command = List.of(keytool.toString(), "-genkeypair", "-alias", ALIAS, "-keyalg", "EC",
        "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
        "-validity", "2", "-keystore", keystore.toString(), "-storetype", "PKCS12",
        "-storepass", new String(PASSWORD), "-keypass", new String(PASSWORD));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    try {
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(60, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IOException("keytool failed: " + output.strip());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while keytool ran", e);
    } finally {
      process.destroy();
    }
    KeyStore store = KeyStore.getInstance("PKCS12");
    try (InputStream in = Files.newInputStream(keystore)) {
      store.load(in, PASSWORD);
    } finally {
      Files.deleteIfExists(keystore);
    }
    KeyManagerFactory keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    keys.init(store, PASSWORD);
    X509Certificate certificate = (X509Certificate) store.getCertificate(ALIAS);
    return new SelfSignedTls(SslContextBuilder.forServer(keys).build(),
        SslContextBuilder.forClient().trustManager(certificate).build());
  }

  /** Which TLS engine the contexts use: Netty picks OpenSSL (BoringSSL) when its native library loads, else the JDK. */
  public String provider() {
    return server instanceof OpenSslContext ? "OpenSSL (" + OpenSsl.versionString() + ")" : "JDK";
  }

  /** For {@code KvTransferServer.Builder.sslContext}. */
  public SslContext serverContext() {
    return server;
  }

  /** For {@code KvTransferClient.Builder.sslContext}: trusts exactly this certificate. */
  public SslContext clientContext() {
    return client;
  }
}
