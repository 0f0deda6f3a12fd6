/**
 * Implementation of the KV transport: frames and codec, handshake, per-connection state machines, connection pool,
 * transport selection, meters. Internal: may change at any time; nothing outside {@code io.disagg.kv} may use it.
 * Must not reach into other modules' internals.
 */
package io.disagg.kv.internal;
