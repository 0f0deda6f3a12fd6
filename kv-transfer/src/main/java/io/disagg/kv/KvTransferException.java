package io.disagg.kv;

import java.util.Objects;

/**
 * Why a KV transfer failed, as a machine-readable {@link Reason} plus a message. Both ends raise the same reason for
 * the same failure where the wire lets them know it (the receiver sends its reason in an ERROR or REJECT frame).
 */
public final class KvTransferException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** What went wrong; {@link #wireCode()} is what travels in REJECT and ERROR frames. */
  public enum Reason {
    /** The receiver has no free KV blocks. Nothing flowed; retry later or elsewhere. */
    NO_ROOM(1, true),
    /** The cache was produced by another model or layout than the receiver's. */
    FINGERPRINT_MISMATCH(2, false),
    /** The header names a reservation the receiver does not hold (expired, used, or never granted). */
    UNKNOWN_RESERVATION(3, false),
    /** The header is inconsistent (block count, block bytes, token ids). */
    INVALID_HEADER(4, false),
    /** The peer did not prove knowledge of the shared secret. */
    AUTH_FAILED(5, false),
    /** No protocol version both ends speak. */
    UNSUPPORTED_VERSION(6, false),
    /** The payload's CRC32C differs from the sender's; nothing was exposed. */
    CHECKSUM_MISMATCH(7, true),
    /** A malformed, oversized or out-of-order frame. */
    PROTOCOL_ERROR(8, true),
    /** The peer went quiet for longer than the configured timeout. */
    TIMEOUT(9, true),
    /** The connection closed before the transfer completed. */
    CONNECTION_LOST(10, true),
    /** No connection could be opened (or authenticated) to the peer. */
    CONNECT_FAILED(11, true),
    /** The sender cancelled the transfer. */
    CANCELLED(12, true),
    /** Too many transfers are already waiting for a connection to this peer. */
    BUSY(13, true),
    /** The client or server was closed. */
    CLOSED(14, false),
    /** A bug or unexpected failure (including an exception thrown by a {@link KvDestination}). */
    INTERNAL(15, true);

    private final int wireCode;
    private final boolean retryable;

    Reason(int wireCode, boolean retryable) {
      this.wireCode = wireCode;
      this.retryable = retryable;
    }

    /** The code carried on the wire. */
    public int wireCode() {
      return wireCode;
    }

    /** Whether trying the same transfer again may succeed. */
    public boolean retryable() {
      return retryable;
    }

    /** The reason for a wire code; unknown codes map to {@link #INTERNAL}. */
    public static Reason fromWireCode(int code) {
      for (Reason r : values()) {
        if (r.wireCode == code) {
          return r;
        }
      }
      return INTERNAL;
    }
  }

  private final Reason reason;

  public KvTransferException(Reason reason, String message) {
    super(message);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public KvTransferException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }

  /** Whether trying again may succeed; see {@link Reason#retryable()}. */
  public boolean retryable() {
    return reason.retryable();
  }

  @Override
  public String toString() {
    return "KvTransferException[" + reason + "]: " + getMessage();
  }
}
