/**
 * The Disagg Java SDK: generate text through the router, blocking, asynchronously or as a stream, with deadlines,
 * cancellation, API-key auth and retries of idempotent requests.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.client.DisaggClient} and its builder: connect and generate.</li>
 *   <li>{@link io.disagg.client.GenerateListener} and {@link io.disagg.client.GenerateStream}: streaming and
 *       cancellation.</li>
 *   <li>{@link io.disagg.client.GenerateResult}: text, {@link io.disagg.client.TokenUsage}, the router's
 *       {@link io.disagg.client.TimingBreakdown} and the client-side {@link io.disagg.client.ClientTiming}.</li>
 *   <li>{@link io.disagg.client.RetryPolicy}: when calls are retried.</li>
 * </ul>
 *
 * <p>Requests are the router's own {@code io.disagg.proto.v1.GenerateRequest}. This package depends on the proto
 * module and gRPC only; it must not reach into router or worker code.
 */
package io.disagg.client;
