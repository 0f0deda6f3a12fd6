package io.disagg.decode.testing;

import io.disagg.kv.bench.SelfSignedTls;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;

/**
 * A throwaway self-signed EC certificate and its key as PEM files, the form the workers' {@code --kv-tls-cert},
 * {@code --kv-tls-key} and {@code --kv-tls-trust} take (made by kv-transfer's {@link SelfSignedTls}).
 *
 * @param certificate the certificate, PEM ({@code --kv-tls-cert}, and {@code --kv-tls-trust} of the peer)
 * @param privateKey its private key, PEM PKCS#8 ({@code --kv-tls-key})
 */
public record TestCertificates(Path certificate, Path privateKey) {

  /** For {@code localhost} and {@code 127.0.0.1}, into {@code dir} (which must exist). */
  public static TestCertificates create(Path dir) throws IOException, GeneralSecurityException {
    return write(dir, SelfSignedTls.create(dir));
  }

  /** For {@code dnsName} only: a client that checked host names would refuse it on {@code 127.0.0.1}. */
  public static TestCertificates createFor(Path dir, String dnsName) throws IOException, GeneralSecurityException {
    return write(dir, SelfSignedTls.createFor(dir, dnsName));
  }

  private static TestCertificates write(Path dir, SelfSignedTls tls) throws IOException {
    String name = "kv-tls-" + System.nanoTime();
    return new TestCertificates(tls.writeCertificatePem(dir.resolve(name + "-cert.pem")),
        tls.writePrivateKeyPem(dir.resolve(name + "-key.pem")));
  }
}
