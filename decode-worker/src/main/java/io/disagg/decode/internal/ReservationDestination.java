package io.disagg.decode.internal;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.kv.KvDestination;
import io.disagg.kv.KvTransferException;
import io.disagg.kv.KvTransferException.Reason;
import io.disagg.proto.v1.KvDtype;
import io.disagg.proto.v1.KvTransferHeader;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connects the kv-transfer server to the {@link ReservationTable}: a transfer may only fill a reservation granted by
 * ReserveKv, and is handed exactly the first {@code block_count} blocks of it (the rest stay reserved for the
 * tokens decode will add). Once verified, the whole reservation goes to the Decode that claims it.
 */
public final class ReservationDestination implements KvDestination {
  private final ReservationTable table;
  private final ModelFingerprint fingerprint;
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong bytes = new AtomicLong();

  public ReservationDestination(ReservationTable table, ModelFingerprint fingerprint) {
    this.table = table;
    this.fingerprint = fingerprint;
  }

  public long completed() {
    return completed.get();
  }

  public long failed() {
    return failed.get();
  }

  public long bytes() {
    return bytes.get();
  }

  @Override
  public KvReservation reserve(KvTransferHeader header) {
    checkFingerprint(header);
    String id = header.getReservationId();
    if (id.isEmpty()) {
      throw new KvTransferException(Reason.UNKNOWN_RESERVATION,
          "reservation_id: empty (expected: a reservation granted by this decode worker's ReserveKv)");
    }
    KvLayout layout = fingerprint.layout();
    int blockCount = header.getBlockCount();
    if (header.getTokenIdsCount() != header.getTokenCount() || header.getTokenCount() == 0
        || layout.blocksFor(header.getTokenCount()) != blockCount) {
      throw new KvTransferException(Reason.INVALID_HEADER, "header: " + header.getTokenCount() + " tokens, "
          + header.getTokenIdsCount() + " token ids, " + blockCount + " blocks (expected: equal counts, "
          + layout.blocksFor(header.getTokenCount()) + " blocks)");
    }
    KvReservation full = table.beginTransfer(id);
    if (full == null) {
      throw new KvTransferException(Reason.UNKNOWN_RESERVATION,
          "reservation " + id + " is unknown, expired, released or already filled");
    }
    if (blockCount > full.blocks().size()) {
      table.failTransfer(id, Status.INVALID_ARGUMENT.withDescription("too many blocks"));
      throw new KvTransferException(Reason.INVALID_HEADER, "header: " + blockCount + " blocks (expected: <= "
          + full.blocks().size() + " reserved under " + id + ")");
    }
    return new Prefix(id, full.blocks().subList(0, blockCount), new AtomicBoolean(true));
  }

  @Override
  public void onComplete(KvTransferHeader header, KvReservation filled) {
    int[] tokens = new int[header.getTokenIdsCount()];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = header.getTokenIds(i);
    }
    completed.incrementAndGet();
    bytes.addAndGet(header.getBlockCount() * header.getBlockBytes());
    table.completeTransfer(header.getReservationId(), new KvImport(header.getRequestId(), fingerprint, tokens));
  }

  @Override
  public void onFailure(KvTransferHeader header, KvTransferException error) {
    failed.incrementAndGet();
    table.failTransfer(header.getReservationId(),
        Status.UNAVAILABLE.withDescription(error.reason() + ": " + error.getMessage()));
  }

  private void checkFingerprint(KvTransferHeader h) {
    KvLayout l = fingerprint.layout();
    KvDtype dtype = switch (l.dtype()) {
      case F32 -> KvDtype.KV_DTYPE_F32;
      case F16 -> KvDtype.KV_DTYPE_F16;
    };
    if (!fingerprint.value().equals(h.getModelFingerprint()) || h.getLayers() != l.layers()
        || h.getKvHeads() != l.kvHeads() || h.getHeadDim() != l.headDim() || h.getBlockTokens() != l.blockTokens()
        || h.getBlockBytes() != l.blockBytes() || h.getDtype() != dtype) {
      throw new KvTransferException(Reason.FINGERPRINT_MISMATCH,
          "sender fingerprint " + h.getModelFingerprint() + " (" + h.getBlockBytes() + " bytes/block), receiver "
              + fingerprint.value() + " (" + l.blockBytes() + " bytes/block)");
    }
  }

  /**
   * The part of a reservation a transfer fills. Closing it (the transport does so when the transfer fails) releases
   * the whole reservation; completion hands the whole reservation to the Decode instead.
   */
  private final class Prefix implements KvReservation {
    private final String id;
    private final List<KvBlock> blocks;
    private final AtomicBoolean held;

    Prefix(String id, List<KvBlock> blocks, AtomicBoolean held) {
      this.id = id;
      this.blocks = List.copyOf(blocks);
      this.held = held;
    }

    @Override
    public List<KvBlock> blocks() {
      return blocks;
    }

    @Override
    public boolean isHeld() {
      return held.get();
    }

    @Override
    public KvReservation handOver() {
      if (!held.compareAndSet(true, false)) {
        throw new IllegalStateException("reservation " + id + " already released or handed over");
      }
      return new Prefix(id, blocks, new AtomicBoolean(true));
    }

    @Override
    public void close() {
      if (held.compareAndSet(true, false)) {
        table.failTransfer(id, Status.UNAVAILABLE.withDescription("the transport released the blocks"));
      }
    }
  }
}
