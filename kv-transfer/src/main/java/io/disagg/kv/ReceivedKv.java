package io.disagg.kv;

import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.proto.v1.KvTransferHeader;

/**
 * A KV cache that arrived complete and verified: its header and the filled blocks. Whoever holds this owns
 * {@link #reservation()} and must either import it ({@code Backend.importKv(reservation, toImport())}) or close it.
 *
 * @param header the sender's header
 * @param fingerprint the receiver's fingerprint, which the header matched
 * @param reservation the filled blocks, in cache order; owned by the holder of this record
 */
public record ReceivedKv(KvTransferHeader header, ModelFingerprint fingerprint, KvReservation reservation) {

  /** The import description for the backend, built from the header's request id and token ids. */
  public KvImport toImport() {
    int[] tokens = new int[header.getTokenIdsCount()];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = header.getTokenIds(i);
    }
    return new KvImport(header.getRequestId(), fingerprint, tokens);
  }
}
