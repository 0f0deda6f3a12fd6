package io.disagg.client;

import io.disagg.proto.v1.GenerateChunk;
import io.grpc.StatusRuntimeException;

/**
 * Receives one streaming generation. Calls are serialized (never concurrent) and end in exactly one terminal call:
 * {@link #onCompleted} or {@link #onError}. Callbacks run on the client's executor, so they must not block.
 */
public interface GenerateListener {

    /** A chunk of tokens; the last chunk (with a finish reason, usage and timing) is delivered here too. */
    void onChunk(GenerateChunk chunk);

    /** The stream ended normally; {@code result} holds the concatenated text and tokens. */
    default void onCompleted(GenerateResult result) {
    }

    /**
     * The stream failed, was cancelled ({@code CANCELLED}) or ran past its deadline ({@code DEADLINE_EXCEEDED}).
     * Chunks already delivered stay valid.
     */
    default void onError(StatusRuntimeException error) {
    }
}
