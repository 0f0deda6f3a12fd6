package io.disagg.backend.spi;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A read-only view of a sequence's KV cache, ready to be written to a socket without copying.
 *
 * @param requestId the sequence's request id
 * @param fingerprint model and layout that produced it
 * @param tokenCount positions held
 * @param tokens the token ids whose KV is held (prompt order)
 * @param blocks read-only segments, one per block, each {@link KvLayout#blockBytes()} long; valid only until the
 *     sequence is closed
 */
public record KvExport(
    String requestId, ModelFingerprint fingerprint, int tokenCount, int[] tokens, List<MemorySegment> blocks) {
  public KvExport {
    blocks = List.copyOf(blocks);
  }

  public KvLayout layout() {
    return fingerprint.layout();
  }

  /** Bytes that cross the wire. */
  public long bytes() {
    return blocks.size() * layout().blockBytes();
  }
}
