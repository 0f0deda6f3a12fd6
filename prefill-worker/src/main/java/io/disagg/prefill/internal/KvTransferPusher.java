package io.disagg.prefill.internal;

import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.kv.KvAddress;
import io.disagg.kv.KvSendSession;
import io.disagg.kv.KvTransferClient;
import io.disagg.kv.KvTransferHeaders;
import io.disagg.kv.TransferResult;
import io.disagg.proto.v1.KvTransferHeader;
import io.grpc.Status;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** {@link KvPusher} over the kv-transfer client (pooled, authenticated connections; zero-copy payload). */
public final class KvTransferPusher implements KvPusher {
  private final KvTransferClient client;

  public KvTransferPusher(KvTransferClient client) {
    this.client = client;
  }

  @Override
  public PushHandle push(String target, String reservationId, KvExport export) {
    KvAddress address = parse(target);
    return new Handle(client.startPush(address, KvTransferHeaders.forExport(export, reservationId), export));
  }

  @Override
  public PushHandle open(String target, String reservationId, String requestId, ModelFingerprint fingerprint,
      int[] tokens, List<MemorySegment> blocks) {
    KvAddress address = parse(target);
    KvTransferHeader header = KvTransferHeaders.of(requestId, fingerprint, tokens, blocks.size(), reservationId);
    return new Handle(client.openSession(address, header, fingerprint.layout(), blocks));
  }

  private static KvAddress parse(String target) {
    try {
      return KvAddress.parse(target);
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription("decode_target: " + e.getMessage()).asRuntimeException();
    }
  }

  @Override
  public void close() {
    client.close();
  }

  private record Handle(KvSendSession session) implements PushHandle {
    @Override
    public void layerComplete(int layer) {
      session.layerComplete(layer);
    }

    @Override
    public void finish() {
      session.finish();
    }

    @Override
    public CompletableFuture<PushResult> result() {
      return session.result().thenApply(Handle::toResult);
    }

    @Override
    public CompletableFuture<Void> released() {
      return session.released();
    }

    @Override
    public void cancel(String reason) {
      session.cancel(reason);
    }

    private static PushResult toResult(TransferResult r) {
      return new PushResult(r.bytes(), r.total());
    }
  }
}
