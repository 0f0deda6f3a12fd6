package io.disagg.kv;

import io.disagg.backend.spi.KvReservation;
import io.disagg.proto.v1.KvTransferHeader;

/**
 * The decode side's policy for incoming transfers: where blocks go, and who gets them when they are complete. The
 * server calls every method on a network thread; implementations must be thread-safe and must not block.
 * {@link PoolKvDestination} is the ready implementation backed by a {@code KvBlockPool}.
 */
public interface KvDestination {

  /**
   * Checks the header (fingerprint, layout) and hands over the reservation to fill, with exactly
   * {@code header.getBlockCount()} blocks of {@code header.getBlockBytes()} bytes each. Called before any payload
   * flows; throwing rejects the transfer at the header and the sender is told the reason.
   *
   * @return a held reservation; the server owns it from here on and closes it if the transfer fails
   * @throws KvTransferException with {@link KvTransferException.Reason#NO_ROOM},
   *     {@link KvTransferException.Reason#FINGERPRINT_MISMATCH}, {@link KvTransferException.Reason#UNKNOWN_RESERVATION}
   *     or {@link KvTransferException.Reason#INVALID_HEADER}
   */
  KvReservation reserve(KvTransferHeader header);

  /**
   * Every block is in place and the checksum verified. Ownership of {@code filled} passes to this method; the
   * sender's ack is sent only after it returns. Throwing fails the transfer ({@code INTERNAL}) and the server closes
   * {@code filled}.
   */
  void onComplete(KvTransferHeader header, KvReservation filled);

  /**
   * A transfer accepted by {@link #reserve} failed. The server has already closed its reservation (blocks returned
   * to the pool); this is for bookkeeping and for waking whoever awaits the request.
   */
  void onFailure(KvTransferHeader header, KvTransferException error);
}
