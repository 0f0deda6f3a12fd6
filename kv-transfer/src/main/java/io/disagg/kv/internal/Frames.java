package io.disagg.kv.internal;

import io.disagg.kv.KvTransferException;
import io.disagg.proto.v1.KvTransferHeader;

/**
 * Frame types and the control frames of the wire protocol (see docs/kv-transfer.md). Every frame is
 * {@code type:u8 | length:u32 | body[length]}, big-endian. Payload travels in {@link DataFrame}s; everything else is a
 * small {@link Control} frame decoded whole.
 */
public final class Frames {
  private Frames() {}

  /** "DKV1": first bytes of a HELLO body, so a stray client of another protocol fails at once. */
  public static final int MAGIC = 0x444B5631;
  /** 2: AUTH_OK grants payload credit; a sender may pipeline that much DATA after a HEADER, before ACCEPT. */
  public static final int VERSION = 2;
  public static final int PREFIX_BYTES = 5;
  /** DATA body prefix: block index (u32) and offset within the block (u64). */
  public static final int DATA_SUBHEADER_BYTES = 12;
  public static final int NONCE_BYTES = 32;
  public static final int MAC_BYTES = 32;

  public static final byte HELLO = 0x01;
  public static final byte CHALLENGE = 0x02;
  public static final byte AUTH = 0x03;
  public static final byte AUTH_OK = 0x04;
  public static final byte HEADER = 0x10;
  public static final byte ACCEPT = 0x11;
  public static final byte REJECT = 0x12;
  public static final byte DATA = 0x20;
  public static final byte TRAILER = 0x21;
  public static final byte ACK = 0x22;
  public static final byte CANCEL = 0x23;
  public static final byte ERROR = 0x7F;

  /** A decoded control frame; carries no reference-counted state. */
  public sealed interface Control
      permits Hello, Challenge, Auth, AuthOk, Header, Accept, Reject, Trailer, Ack, Cancel, Error {}

  /** Client opens: protocol versions it speaks and its nonce. */
  public record Hello(int minVersion, int maxVersion, byte[] clientNonce) implements Control {}

  /** Server answers: chosen version, its nonce, and its proof of the secret over both nonces. */
  public record Challenge(int version, byte[] serverNonce, byte[] serverProof) implements Control {}

  /** Client's proof of the secret over both nonces. */
  public record Auth(byte[] clientProof) implements Control {}

  /**
   * Authenticated. {@code eagerBytes}: payload the client may send after each HEADER without waiting for ACCEPT
   * (0: none). After a REJECT the server discards that payload up to the client's TRAILER.
   */
  public record AuthOk(int eagerBytes) implements Control {}

  public record Header(KvTransferHeader header) implements Control {}

  /** The receiver holds the blocks; payload may flow. */
  public record Accept() implements Control {}

  /** The receiver refuses the header; no payload was sent and the connection stays usable. */
  public record Reject(int code, String message) implements Control {}

  /** End of payload: CRC32C over every payload byte in wire order, and their count. */
  public record Trailer(int crc32c, long totalBytes) implements Control {}

  /** The blocks are in place and verified, and the receiver's consumer owns them. */
  public record Ack(long totalBytes) implements Control {}

  /** The sender abandons the transfer; it closes the connection right after. */
  public record Cancel(String message) implements Control {}

  /** Fatal for the transfer and the connection; the sender of this frame closes the connection. */
  public record Error(int code, String message) implements Control {}

  /**
   * What a TLS failure in {@code cause} (or what it wraps) means for the transfer: a handshake that could not complete
   * (untrusted certificate, no common protocol) is {@code AUTH_FAILED}; a bad record later (corruption on the wire) is
   * {@code CONNECTION_LOST}, which a retry may get past. {@code null} when it is no TLS failure.
   */
  static KvTransferException.Reason tlsFailure(Throwable cause) {
    for (Throwable t = cause; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLHandshakeException) {
        return KvTransferException.Reason.AUTH_FAILED;
      }
      if (t instanceof javax.net.ssl.SSLException) {
        return KvTransferException.Reason.CONNECTION_LOST;
      }
    }
    return null;
  }

  /** The innermost cause's message, which for TLS failures says what went wrong (e.g. no trusted certificate). */
  static String rootMessage(Throwable cause) {
    Throwable t = cause;
    while (t.getCause() != null) {
      t = t.getCause();
    }
    return t.getMessage() != null ? t.getMessage() : t.toString();
  }
}
