package io.disagg.client.internal;

import io.disagg.proto.v1.GenerateRequest;

/** Decides whether running a request twice gives the same tokens, which is what makes a retry safe. */
public final class Idempotency {

    private Idempotency() {
    }

    /** Greedy (no sampling or temperature 0) or seeded requests are deterministic, so they may be retried. */
    public static boolean isIdempotent(GenerateRequest request) {
        if (!request.hasSampling()) {
            return true;
        }
        var s = request.getSampling();
        return s.getTemperature() == 0.0f || s.getHasSeed();
    }
}
