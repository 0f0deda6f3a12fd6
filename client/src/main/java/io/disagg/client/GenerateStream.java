package io.disagg.client;

import java.util.concurrent.CompletableFuture;

/**
 * A running streaming generation: cancel it, or wait for its result.
 */
public interface GenerateStream {

    /**
     * Cancels the generation; the router stops the work on every worker and frees its KV blocks. The listener then
     * gets {@code onError} with {@code CANCELLED} unless the stream already ended. Idempotent.
     */
    void cancel(String reason);

    /**
     * Completes with the assembled result, or exceptionally with a {@link io.grpc.StatusRuntimeException}.
     * Cancelling this future cancels the stream.
     */
    CompletableFuture<GenerateResult> result();
}
