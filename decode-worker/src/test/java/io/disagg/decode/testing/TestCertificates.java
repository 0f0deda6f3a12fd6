package io.disagg.decode.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway self-signed EC certificate and its key as PEM files, the form the workers' {@code --kv-tls-cert},
 * {@code --kv-tls-key} and {@code --kv-tls-trust} take. Made offline with the JDK's own {@code keytool} (the JDK has
 * no public API to issue certificates), then written out from the PKCS#12 store it makes.
 *
 * @param certificate the certificate, PEM ({@code --kv-tls-cert}, and {@code --kv-tls-trust} of the peer)
 * @param privateKey its private key, PEM PKCS#8 ({@code --kv-tls-key})
 */
public record TestCertificates(Path certificate, Path privateKey) {
  private static final String ALIAS = "kv";
  private static final String PASSWORD = "changeit";

  /** For {@code localhost} and {@code 127.0.0.1}, into {@code dir} (which must exist). */
  public static TestCertificates create(Path dir) throws IOException, GeneralSecurityException {
    return create(dir, "localhost", "SAN=dns:localhost,ip:127.0.0.1");
  }

  /** For {@code dnsName} only: a client that checked host names would refuse it on {@code 127.0.0.1}. */
  public static TestCertificates createFor(Path dir, String dnsName) throws IOException, GeneralSecurityException {
    return create(dir, dnsName, "SAN=dns:" + dnsName);
  }

  private static TestCertificates create(Path dir, String commonName, String subjectAltNames)
      throws IOException, GeneralSecurityException {
    String name = "kv-tls-" + System.nanoTime();
    Path keystore = dir.resolve(name + ".p12");
    Path keytool = Path.of(System.getProperty("java.home"), "bin", "keytool");
    Process process = new ProcessBuilder(List.of(keytool.toString(), "-genkeypair", "-alias", ALIAS,
        "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=" + commonName, "-ext", subjectAltNames,
        "-validity", "2", "-keystore", keystore.toString(), "-storetype", "PKCS12",
        "-storepass", PASSWORD, "-keypass", PASSWORD)).redirectErrorStream(true).start();
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
      store.load(in, PASSWORD.toCharArray());
    } finally {
      Files.deleteIfExists(keystore);
    }
    Certificate certificate = store.getCertificate(ALIAS);
    PrivateKey key = (PrivateKey) store.getKey(ALIAS, PASSWORD.toCharArray());
    Path certificateFile = Files.writeString(dir.resolve(name + "-cert.pem"),
        pem("CERTIFICATE", certificate.getEncoded()));
    // getEncoded() of a private key is its PKCS#8 DER, what "BEGIN PRIVATE KEY" holds
    Path keyFile = Files.writeString(dir.resolve(name + "-key.pem"), pem("PRIVATE KEY", key.getEncoded()));
    return new TestCertificates(certificateFile, keyFile);
  }

  private static String pem(String type, byte[] der) {
    Base64.Encoder base64 = Base64.getMimeEncoder(76, "\n".getBytes(StandardCharsets.US_ASCII));
    return "-----BEGIN " + type + "-----\n" + base64.encodeToString(der) + "\n-----END " + type + "-----\n";
  }
}
