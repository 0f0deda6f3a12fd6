package io.disagg.decode.internal;

import io.disagg.backend.spi.BackendException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;

/** The one place backend failures become gRPC statuses. */
public final class Statuses {
  private Statuses() {}

  public static Status of(Throwable t) {
    if (t instanceof StatusRuntimeException e) {
      return e.getStatus();
    }
    if (t instanceof StatusException e) {
      return e.getStatus();
    }
    if (t instanceof BackendException e) {
      Status base = switch (e.code()) {
        case INVALID_ARGUMENT -> Status.INVALID_ARGUMENT;
        case CONTEXT_OVERFLOW -> Status.OUT_OF_RANGE;
        case RESOURCE_EXHAUSTED -> Status.RESOURCE_EXHAUSTED;
        case KV_MISMATCH -> Status.FAILED_PRECONDITION;
        case UNAVAILABLE -> Status.UNAVAILABLE;
        case MODEL_INVALID, INTERNAL -> Status.INTERNAL;
      };
      return base.withDescription(e.getMessage()).withCause(e);
    }
    if (t instanceof java.util.concurrent.CompletionException && t.getCause() != null) {
      return of(t.getCause());
    }
    return Status.INTERNAL.withDescription(String.valueOf(t)).withCause(t);
  }
}
