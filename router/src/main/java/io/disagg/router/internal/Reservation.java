package io.disagg.router.internal;

/**
 * KV blocks a decode worker set aside for one request (its ReserveKv answer). Until a finished decode consumes it,
 * whatever ends the request sends ReleaseKv for it ({@link ReleaseStage}).
 *
 * @param decode the worker holding the blocks
 * @param id the reservation id it returned
 */
record Reservation(WorkerHandle decode, String id) {}
