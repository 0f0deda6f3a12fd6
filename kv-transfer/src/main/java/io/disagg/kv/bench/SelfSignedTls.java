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
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway self-signed EC certificate and its key, made with the JDK's own {@code keytool} (the JDK has no public
 * API to issue certificates, and no network is needed), with the server and client {@link SslContext}s the
 * kv-transfer builders take, or as the PEM files the workers' {@code --kv-tls-*} flags take. For the benchmark's TLS
 * leg and for tests; a deployment configures its own certificate and key.
 */
public final class SelfSignedTls {
  private static final String ALIAS = "kv";
  private static final char[] PASSWORD = "changeit".toCharArray();

  private final X509Certificate certificate;
  private final PrivateKey privateKey;
  private final SslContext server;
  private final SslContext client;

  private SelfSignedTls(X509Certificate certificate, PrivateKey privateKey) throws IOException {
    this.certificate = certificate;
    this.privateKey = privateKey;
    this.server = SslContextBuilder.forServer(privateKey, certificate).build();
    this.client = SslContextBuilder.forClient().trustManager(certificate).build();
  }

  /** For {@code localhost} and {@code 127.0.0.1}; keytool's scratch file goes to {@code dir} (which must exist). */
  public static SelfSignedTls create(Path dir) throws IOException, GeneralSecurityException {
    return create(dir, "localhost", "SAN=dns:localhost,ip:127.0.0.1");
  }

  /** For {@code dnsName} only: a client that checks host names refuses it on {@code 127.0.0.1}. */
  public static SelfSignedTls createFor(Path dir, String dnsName) throws IOException, GeneralSecurityException {
    return create(dir, dnsName, "SAN=dns:" + dnsName);
  }

  private static SelfSignedTls create(Path dir, String commonName, String subjectAltNames)
      throws IOException, GeneralSecurityException {
    Path keystore = dir.resolve("kv-tls-" + System.nanoTime() + ".p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    List<String> command = List.of(keytool.toString(), "-genkeypair", "-alias", ALIAS, "-keyalg", "EC",
        "-groupname", "secp256r1", "-dname", "CN=" + commonName, "-ext", subjectAltNames,
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
    return new SelfSignedTls((X509Certificate) store.getCertificate(ALIAS),
        (PrivateKey) store.getKey(ALIAS, PASSWORD));
  }

  /** Which TLS engine the contexts use: Netty picks OpenSSL (BoringSSL) when its native library loads, else the JDK. */
  public String provider() {
    return server instanceof OpenSslContext ? "OpenSSL (" + OpenSsl.versionString() + ")" : "JDK";
  }

  /** For {@code KvTransferServer.Builder.sslContext}. */
  public SslContext serverContext() {
    return server;
  }

  /** For {@code KvTransferClient.Builder.sslContext}: trusts exactly this certificate (and checks the host name). */
  public SslContext clientContext() {
    return client;
  }

  /** Writes the certificate as PEM ({@code --kv-tls-cert}, and the peer's {@code --kv-tls-trust}); returns it. */
  public Path writeCertificatePem(Path file) throws IOException {
    try {
      return Files.writeString(file, pem("CERTIFICATE", certificate.getEncoded()));
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IOException("certificate: " + e.getMessage(), e);
    }
  }

  /** Writes the private key as unencrypted PEM PKCS#8 ({@code --kv-tls-key}); returns {@code file}. */
  public Path writePrivateKeyPem(Path file) throws IOException {
    // getEncoded() of a private key is its PKCS#8 DER, what "BEGIN PRIVATE KEY" holds
    return Files.writeString(file, pem("PRIVATE KEY", privateKey.getEncoded()));
  }

  private static String pem(String type, byte[] der) {
    Base64.Encoder base64 = Base64.getMimeEncoder(76, "\n".getBytes(StandardCharsets.US_ASCII));
    return "-----BEGIN " + type + "-----\n" + base64.encodeToString(der) + "\n-----END " + type + "-----\n";
  }
}
