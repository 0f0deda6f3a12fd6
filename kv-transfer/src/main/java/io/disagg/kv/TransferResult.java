package io.disagg.kv;

import java.time.Duration;

/**
 * What a completed push cost, measured on the sender from the call to the receiver's ack.
 *
 * @param requestId the transfer's request id
 * @param transport {@code tcp} or {@code uds}
 * @param blocks blocks moved
 * @param bytes payload bytes moved
 * @param connect waiting for an authenticated connection (zero when a pooled one was idle)
 * @param accept from writing the header to the receiver's accept (its reservation)
 * @param data from the accept to the trailer being written (includes waiting for layers when streaming)
 * @param ack from the trailer to the ack (the receiver verifying and adopting the blocks)
 * @param total from the call to the ack
 */
public record TransferResult(
    String requestId,
    String transport,
    int blocks,
    long bytes,
    Duration connect,
    Duration accept,
    Duration data,
    Duration ack,
    Duration total) {

  /** Payload bytes per second over {@link #total()}. */
  public double bytesPerSecond() {
    long nanos = Math.max(1, total.toNanos());
    return bytes * 1e9 / nanos;
  }
}
