package io.disagg.router;

/**
 * A generation in progress, returned by {@link RouterService#generate}. Thread-safe.
 */
public interface GenerateCall {

  /** The request id (the client's, or the one the router assigned), propagated to every worker. */
  String requestId();

  /**
   * Cancels the generation on every worker it reached and frees its KV reservation. The observer then receives
   * exactly one terminal {@code onError(CANCELLED)} unless the call had already ended. Idempotent.
   */
  void cancel();
}
