package io.disagg.client;

import io.disagg.proto.v1.Timing;
import java.time.Duration;

/**
 * Where the router says the time of one request went; all spans start at the request's arrival at the router.
 *
 * @param queued until a worker started on it
 * @param prefill prefill compute on the worker that ran it
 * @param kvTransfer moving the KV cache between workers ({@link Duration#ZERO} when colocated)
 * @param firstToken until the first token was sent (server-side time to first token)
 * @param decode from the first token until the last
 * @param total until the final response
 * @param kvTransferBytes bytes of KV cache moved between workers
 */
public record TimingBreakdown(Duration queued, Duration prefill, Duration kvTransfer, Duration firstToken,
                              Duration decode, Duration total, long kvTransferBytes) {

    /** No timing reported. */
    public static final TimingBreakdown NONE = new TimingBreakdown(
            Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO, 0);

    public static TimingBreakdown fromProto(Timing t) {
        return new TimingBreakdown(micros(t.getQueuedUs()), micros(t.getPrefillUs()), micros(t.getKvTransferUs()),
                micros(t.getFirstTokenUs()), micros(t.getDecodeUs()), micros(t.getTotalUs()), t.getKvTransferBytes());
    }

    private static Duration micros(long us) {
        return Duration.ofNanos(Math.multiplyExact(us, 1_000L));
    }
}
