package io.disagg.prefill.internal;

import io.disagg.kv.KvTransferException;
import io.grpc.Status;
import java.util.concurrent.CancellationException;

/** The worker-common status mapping ({@link io.disagg.worker.Statuses}) plus kv-transfer failures. */
final class TransferStatuses {
  private TransferStatuses() {}

  static Status of(Throwable t) {
    return io.disagg.worker.Statuses.of(t, TransferStatuses::transfer);
  }

  private static Status transfer(Throwable t) {
    if (t instanceof KvTransferException e) {
      Status base = switch (e.reason()) {
        case NO_ROOM, BUSY -> Status.RESOURCE_EXHAUSTED;
        case FINGERPRINT_MISMATCH, UNKNOWN_RESERVATION -> Status.FAILED_PRECONDITION;
        case AUTH_FAILED -> Status.PERMISSION_DENIED;
        case TIMEOUT -> Status.DEADLINE_EXCEEDED;
        case CANCELLED -> Status.CANCELLED;
        case CONNECT_FAILED, CONNECTION_LOST, CLOSED -> Status.UNAVAILABLE;
        case INVALID_HEADER, UNSUPPORTED_VERSION, CHECKSUM_MISMATCH, PROTOCOL_ERROR, INTERNAL -> Status.INTERNAL;
      };
      return base.withDescription("KV transfer failed (" + e.reason() + "): " + e.getMessage()).withCause(e);
    }
    if (t instanceof CancellationException) {
      return Status.CANCELLED.withDescription("KV transfer cancelled").withCause(t);
    }
    return null;
  }
}
