package io.disagg.kv;

import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.proto.v1.KvDtype;
import io.disagg.proto.v1.KvTransferHeader;
import java.util.Objects;

/** Builds {@link KvTransferHeader}s that agree with the block model, so senders do not fill fields by hand. */
public final class KvTransferHeaders {
  private KvTransferHeaders() {}

  /**
   * A header for pushing {@code export}.
   *
   * @param reservationId a reservation granted by the receiver, or {@code ""} to let it reserve on arrival
   */
  public static KvTransferHeader forExport(KvExport export, String reservationId) {
    return of(export.requestId(), export.fingerprint(), export.tokens(), export.blocks().size(), reservationId);
  }

  /**
   * A header for {@code blockCount} blocks holding the KV of {@code tokens} under {@code fingerprint}.
   *
   * @param reservationId a reservation granted by the receiver, or {@code ""} to let it reserve on arrival
   */
  public static KvTransferHeader of(
      String requestId, ModelFingerprint fingerprint, int[] tokens, int blockCount, String reservationId) {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(reservationId, "reservationId");
    KvLayout layout = fingerprint.layout();
    KvTransferHeader.Builder b = KvTransferHeader.newBuilder()
        .setRequestId(requestId)
        .setModelFingerprint(fingerprint.value())
        .setLayers(layout.layers())
        .setKvHeads(layout.kvHeads())
        .setHeadDim(layout.headDim())
        .setDtype(switch (layout.dtype()) {
          case F32 -> KvDtype.KV_DTYPE_F32;
          case F16 -> KvDtype.KV_DTYPE_F16;
        })
        .setBlockTokens(layout.blockTokens())
        .setTokenCount(tokens.length)
        .setBlockCount(blockCount)
        .setBlockBytes(layout.blockBytes())
        .setReservationId(reservationId);
    for (int t : tokens) {
      b.addTokenIds(t);
    }
    return b.build();
  }
}
