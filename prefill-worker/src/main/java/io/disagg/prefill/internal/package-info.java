/**
 * Implementation of the prefill worker; may change at any time. The engine thread ({@code PrefillEngine}) is the only
 * caller of the backend's compute methods; gRPC threads reach it through its bounded queue, and kv-transfer threads
 * only close sequences (which is thread-safe) once a push settled.
 *
 * <p>Must not touch: other modules' internals.
 */
package io.disagg.prefill.internal;
