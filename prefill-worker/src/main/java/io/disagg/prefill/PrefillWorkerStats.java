package io.disagg.prefill;

/**
 * Counters of one prefill worker since it started.
 *
 * @param batches backend prefill calls
 * @param prefilled prompts prefilled
 * @param transfersCompleted KV caches the decode side acknowledged
 * @param transfersFailed pushes that failed or were cancelled
 * @param transferBytes payload bytes of acknowledged pushes
 */
public record PrefillWorkerStats(
    long batches, long prefilled, long transfersCompleted, long transfersFailed, long transferBytes) {}
