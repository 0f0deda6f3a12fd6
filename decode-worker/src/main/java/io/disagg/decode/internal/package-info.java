/**
 * Implementation of the decode worker; may change at any time. The engine thread ({@code DecodeEngine}) is the only
 * caller of the backend's compute methods; gRPC and transport threads reach it only through its bounded inbox and the
 * thread-safe {@code ReservationTable}.
 *
 * <p>Must not touch: other modules' internals.
 */
package io.disagg.decode.internal;
