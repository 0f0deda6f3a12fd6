package io.disagg.router.internal;

import io.grpc.Status;
import java.io.IOException;

/**
 * How a worker RPC's ending status reads to the router: by status code and by the exception chain that caused it,
 * never by the description's wording (which differs between gRPC versions and transports).
 */
final class WorkerStatus {
  private WorkerStatus() {}

  /**
   * The status as clients and breakers must see it.
   *
   * <ul>
   *   <li>CANCELLED that the router did not ask for ({@code routerEnded} false): the worker went away, e.g. its
   *       server shut down and reset the stream. That is UNAVAILABLE.</li>
   *   <li>UNKNOWN caused by an {@link IOException} anywhere in its cause chain (a connection closed under a live
   *       call, which gRPC reports as UNKNOWN in some races and UNAVAILABLE in others): UNAVAILABLE.</li>
   *   <li>Anything else: unchanged.</li>
   * </ul>
   */
  static Status fromWorker(Status status, boolean routerEnded) {
    if (status.getCode() == Status.Code.CANCELLED && !routerEnded) {
      return Status.UNAVAILABLE.withDescription("the worker cancelled the call (" + brief(status) + ")")
          .withCause(status.getCause());
    }
    if (status.getCode() == Status.Code.UNKNOWN && causedByIo(status)) {
      return Status.UNAVAILABLE.withDescription("connection to the worker lost (" + brief(status) + ")")
          .withCause(status.getCause());
    }
    return status;
  }

  /** Whether the worker refused (no room) or could not be reached: no work was done, another worker may try. */
  static boolean refusedOrUnreachable(Status status) {
    return status.getCode() == Status.Code.RESOURCE_EXHAUSTED || status.getCode() == Status.Code.UNAVAILABLE;
  }

  /** Whether the request itself (or its client) caused the failure: no other worker would do better. */
  static boolean clientCaused(Status status) {
    return switch (status.getCode()) {
      case INVALID_ARGUMENT, OUT_OF_RANGE, DEADLINE_EXCEEDED, CANCELLED -> true;
      default -> false;
    };
  }

  static boolean causedByIo(Status status) {
    for (Throwable t = status.getCause(); t != null; t = t.getCause()) {
      if (t instanceof IOException) {
        return true;
      }
    }
    return false;
  }

  /** {@code CODE description}, for failure lists and logs. */
  static String brief(Status status) {
    return status.getCode() + (status.getDescription() == null ? "" : " " + status.getDescription());
  }

  /** {@code status} with a description saying which step failed, the worker's own words kept. */
  static Status describe(Status status, String what) {
    return status.withDescription(what + ": " + brief(status));
  }
}
