package io.disagg.decode;

/**
 * Counters of one decode worker since it started.
 *
 * @param reservationsGranted ReserveKv calls that reserved blocks
 * @param reservationsPending reservations granted and not yet adopted, released or expired
 * @param decodesAwaitingKv Decode calls waiting for their KV cache to arrive
 * @param transfersCompleted KV caches received complete over kv-transfer
 * @param transfersFailed KV transfers that broke off after their header was accepted
 * @param transferBytes payload bytes of completed transfers
 * @param imports caches adopted into the running batch
 * @param colocatedPrefills prompts this worker prefilled itself
 * @param tokensGenerated tokens produced (first tokens included)
 * @param streamsCancelled Decode calls the client cancelled (or whose deadline passed)
 */
public record DecodeWorkerStats(
    long reservationsGranted,
    int reservationsPending,
    int decodesAwaitingKv,
    long transfersCompleted,
    long transfersFailed,
    long transferBytes,
    long imports,
    long colocatedPrefills,
    long tokensGenerated,
    long streamsCancelled) {}
