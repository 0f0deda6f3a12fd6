package io.disagg.kv.internal;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 challenge-response over a shared secret. Each side proves it knows the secret by MACing both nonces
 * under its own label, so a proof can be neither replayed (fresh nonces) nor reflected (different labels).
 */
public final class Handshake {
  private static final byte[] SERVER_LABEL = "disagg-kv/v1 server".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CLIENT_LABEL = "disagg-kv/v1 client".getBytes(StandardCharsets.US_ASCII);

  private final SecretKeySpec key;

  public Handshake(byte[] secret) {
    this.key = new SecretKeySpec(secret.clone(), "HmacSHA256");
  }

  /** What the server sends: MAC(server label, clientNonce, serverNonce). */
  public byte[] serverProof(byte[] clientNonce, byte[] serverNonce) {
    return mac(SERVER_LABEL, clientNonce, serverNonce);
  }

  /** What the client sends: MAC(client label, serverNonce, clientNonce). */
  public byte[] clientProof(byte[] serverNonce, byte[] clientNonce) {
    return mac(CLIENT_LABEL, serverNonce, clientNonce);
  }

  /** Constant-time comparison, so response timing reveals nothing about the expected MAC. */
  public static boolean matches(byte[] expected, byte[] actual) {
    return MessageDigest.isEqual(expected, actual);
  }

  private byte[] mac(byte[] label, byte[] first, byte[] second) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(key);
      mac.update(label);
      mac.update(first);
      mac.update(second);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
