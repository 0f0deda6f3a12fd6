package io.disagg.worker;

import io.disagg.backend.spi.BackendException;
import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import java.util.concurrent.CompletionException;
import java.util.function.Function;

/** The one place backend failures become gRPC statuses; a worker adds its own failures through {@link #of(Throwable, Function)}. */
public final class Statuses {
  private Statuses() {}

  /** The status for {@code t}: its own for a gRPC exception, the mapped code for a {@link BackendException}. */
  public static Status of(Throwable t) {
    return of(t, ignored -> null);
  }

  /**
   * As {@link #of(Throwable)}, asking {@code more} (which answers null for what it does not know) after gRPC and
   * backend exceptions and before unwrapping a {@link CompletionException} or falling back to INTERNAL.
   */
  public static Status of(Throwable t, Function<? super Throwable, Status> more) {
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
    Status mapped = more.apply(t);
    if (mapped != null) {
      return mapped;
    }
    if (t instanceof CompletionException && t.getCause() != null) {
      return of(t.getCause(), more);
    }
    return Status.INTERNAL.withDescription(String.valueOf(t)).withCause(t);
  }
}
