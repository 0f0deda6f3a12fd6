package io.disagg.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.kv.KvTransferException.Reason;
import io.disagg.kv.testing.FaultyProxy;
import io.disagg.kv.testing.NettyLeakExtension;
import io.disagg.kv.testing.Peers;
import io.disagg.kv.testing.TestKv;
import io.disagg.proto.v1.KvTransferHeader;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every failure the transport promises to handle: both sides fail with a typed reason, every block and buffer is
 * released, and a retry works.
 */
@ExtendWith(NettyLeakExtension.class)
class KvTransferFailureTest {
  private static final KvLayout LAYOUT = TestKv.LARGE;
  @TempDir
  Path dir;

  private static Reason reasonOf(CompletableFuture<?> f) {
    Throwable t = catchThrowable(() -> f.get(20, TimeUnit.SECONDS));
    assertThat(t).isInstanceOf(ExecutionException.class);
    assertThat(t.getCause()).isInstanceOf(KvTransferException.class);
    return ((KvTransferException) t.getCause()).reason();
  }

  private static KvExport export(Peers peers, KvReservation source, String id, int tokens) {
    return TestKv.export(id, peers.layout, source, tokens);
  }

  private static void assertPoolsWhole(Peers peers, int senderHeld) {
    assertThat(peers.receiverPool.freeBlocks()).isEqualTo(peers.receiverPool.totalBlocks());
    assertThat(peers.senderPool.freeBlocks()).isEqualTo(peers.senderPool.totalBlocks() - senderHeld);
  }

  @Test
  void transfer_fingerprintMismatch_rejectedAtHeaderAndConnectionReused() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 2, 2, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 40, 1)) {
      KvExport good = export(peers, source, "fp", 40);
      KvExport wrongModel = new KvExport("fp", TestKv.otherModel(LAYOUT), 40, good.tokens(), good.blocks());
      CompletableFuture<TransferResult> push =
          peers.client.push(peers.tcp(), KvTransferHeaders.forExport(wrongModel, ""), wrongModel);
      assertThat(reasonOf(push)).isEqualTo(Reason.FINGERPRINT_MISMATCH);
      assertThat(peers.serverCount("disagg.kv.transfer.failed", "reason", "FINGERPRINT_MISMATCH")).isEqualTo(1);
      assertPoolsWhole(peers, 2);

      CompletableFuture<ReceivedKv> arrived = peers.destination.await("fp");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(good, ""), good).get(10, TimeUnit.SECONDS);
      arrived.get(5, TimeUnit.SECONDS).reservation().close();
      assertThat(peers.client.openConnections(peers.tcp())).isEqualTo(1);
    }
  }

  @Test
  void transfer_receiverOutOfBlocks_rejectedWithNoRoomThenRetrySucceeds() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 3, 3, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 3 * 32, 2)) {
      KvReservation squatter = peers.receiverPool.reserve(2);
      KvExport export = export(peers, source, "room", 3 * 32);
      KvTransferHeader header = KvTransferHeaders.forExport(export, "");
      assertThat(reasonOf(peers.client.push(peers.uds(), header, export))).isEqualTo(Reason.NO_ROOM);
      assertThat(peers.serverCount("disagg.kv.transfer.bytes")).isZero();

      squatter.close();
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("room");
      peers.client.push(peers.uds(), header, export).get(10, TimeUnit.SECONDS);
      try (KvReservation received = arrived.get(5, TimeUnit.SECONDS).reservation()) {
        assertThat(TestKv.sameContents(source, received)).isTrue();
      }
    }
  }

  @Test
  void transfer_noRoomLargerThanEagerCredit_senderStopsAtCreditAndConnectionIsReused() throws Exception {
    // 300 KiB of eager credit: the 768 KiB transfer pipelines part of its payload before the REJECT arrives.
    try (Peers peers = new Peers(LAYOUT, 3, 3, dir, s -> s.eagerPayloadBytes(300 << 10), c -> c);
        KvReservation source = TestKv.randomCache(peers.senderPool, 3 * 32, 3)) {
      KvReservation squatter = peers.receiverPool.reserve(2);
      KvExport export = export(peers, source, "credit", 3 * 32);
      KvTransferHeader header = KvTransferHeaders.forExport(export, "");
      assertThat(reasonOf(peers.client.push(peers.tcp(), header, export))).isEqualTo(Reason.NO_ROOM);
      assertThat(peers.serverCount("disagg.kv.transfer.bytes")).isZero();

      squatter.close();
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("credit");
      peers.client.push(peers.tcp(), header, export).get(10, TimeUnit.SECONDS);
      try (KvReservation received = arrived.get(5, TimeUnit.SECONDS).reservation()) {
        assertThat(TestKv.sameContents(source, received)).isTrue();
      }
      assertThat(peers.client.openConnections(peers.tcp())).isEqualTo(1);
      assertPoolsWhole(peers, 3);
    }
  }

  @Test
  void transfer_unknownReservation_rejected() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 1, 1, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 8, 3)) {
      KvExport export = export(peers, source, "nores", 8);
      assertThat(reasonOf(peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, "gone"), export)))
          .isEqualTo(Reason.UNKNOWN_RESERVATION);
      assertPoolsWhole(peers, 1);
    }
  }

  @Test
  void connect_wrongSecret_failsAuthOnBothSides() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 1, 1, dir, b -> b,
        b -> b.secret("a-different-secret-of-enough-length".getBytes()));
        KvReservation source = TestKv.randomCache(peers.senderPool, 8, 4)) {
      KvExport export = export(peers, source, "auth", 8);
      assertThat(reasonOf(peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export)))
          .isEqualTo(Reason.AUTH_FAILED);
      // The client rejects the server's proof first; the server's own check is ServerHandlerTest's business.
      assertPoolsWhole(peers, 1);
    }
  }

  @Test
  void connect_serverDown_failsWithConnectFailed() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 1, 1, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 8, 5)) {
      KvExport export = export(peers, source, "down", 8);
      KvAddress nowhere = KvAddress.unix(dir.resolve("nobody.sock").toString());
      assertThat(reasonOf(peers.client.push(nowhere, KvTransferHeaders.forExport(export, ""), export)))
          .isEqualTo(Reason.CONNECT_FAILED);
    }
  }

  @Test
  void transfer_checksumMismatchOnTheWire_failsBothSidesAndReleasesBlocks() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 16, 16, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 16 * 32, 6);
        FaultyProxy proxy = new FaultyProxy(new InetSocketAddress("127.0.0.1", peers.tcp().port()), 1_000_000,
            FaultyProxy.Fault.FLIP_BIT)) {
      KvExport export = export(peers, source, "crc", 16 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("crc");
      CompletableFuture<TransferResult> push = peers.client.push(
          KvAddress.tcp("127.0.0.1", proxy.port()), KvTransferHeaders.forExport(export, ""), export);
      assertThat(reasonOf(push)).isEqualTo(Reason.CHECKSUM_MISMATCH);
      assertThat(reasonOf(arrived)).isEqualTo(Reason.CHECKSUM_MISMATCH);
      assertPoolsWhole(peers, 16);

      CompletableFuture<ReceivedKv> retry = peers.destination.await("crc");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export).get(10, TimeUnit.SECONDS);
      try (KvReservation received = retry.get(5, TimeUnit.SECONDS).reservation()) {
        assertThat(TestKv.sameContents(source, received)).isTrue();
      }
    }
  }

  @Test
  void transfer_connectionCutMidPayload_failsBothSidesAndReleasesBlocks() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 16, 16, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 16 * 32, 7);
        FaultyProxy proxy = new FaultyProxy(new InetSocketAddress("127.0.0.1", peers.tcp().port()), 2_000_000,
            FaultyProxy.Fault.CUT)) {
      KvExport export = export(peers, source, "cut", 16 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("cut");
      CompletableFuture<TransferResult> push = peers.client.push(
          KvAddress.tcp("127.0.0.1", proxy.port()), KvTransferHeaders.forExport(export, ""), export);
      assertThat(reasonOf(push)).isEqualTo(Reason.CONNECTION_LOST);
      assertThat(reasonOf(arrived)).isEqualTo(Reason.CONNECTION_LOST);
      assertPoolsWhole(peers, 16);
      assertThat(peers.client.openConnections(KvAddress.tcp("127.0.0.1", proxy.port()))).isZero();
    }
  }

  @Test
  void session_senderStalls_receiverTimesOutAndBothSidesFail() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 4, 4, dir,
        b -> b.transferIdleTimeout(Duration.ofMillis(300)), b -> b);
        KvReservation source = TestKv.randomCache(peers.senderPool, 4 * 32, 8)) {
      KvExport export = export(peers, source, "slow", 4 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("slow");
      KvSendSession session = peers.client.openSession(peers.tcp(), KvTransferHeaders.forExport(export, ""),
          LAYOUT, segments(source));
      session.layerComplete(0);
      // Layer 1 never comes: the receiver's idle timeout fires and tells the sender.
      assertThat(reasonOf(arrived)).isEqualTo(Reason.TIMEOUT);
      assertThat(reasonOf(session.result())).isEqualTo(Reason.TIMEOUT);
      session.released().get(5, TimeUnit.SECONDS);
      assertPoolsWhole(peers, 4);
      assertThat(peers.serverCount("disagg.kv.transfer.failed", "reason", "TIMEOUT")).isEqualTo(1);
    }
  }

  @Test
  void transfer_receiverStopsReading_senderTimesOutAndBothSidesRelease() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 32, 32, dir, b -> b.transferIdleTimeout(Duration.ofSeconds(2)),
        b -> b.transferIdleTimeout(Duration.ofMillis(300)));
        KvReservation source = TestKv.randomCache(peers.senderPool, 32 * 32, 13);
        FaultyProxy proxy = new FaultyProxy(new InetSocketAddress("127.0.0.1", peers.tcp().port()), 1_000_000,
            FaultyProxy.Fault.STALL)) {
      KvExport export = export(peers, source, "stall", 32 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("stall");
      CompletableFuture<TransferResult> push = peers.client.push(
          KvAddress.tcp("127.0.0.1", proxy.port()), KvTransferHeaders.forExport(export, ""), export);
      Throwable sender = catchThrowable(() -> push.get(20, TimeUnit.SECONDS)).getCause();
      assertThat(sender).isInstanceOf(KvTransferException.class).hasMessageContaining("stopped reading");
      assertThat(((KvTransferException) sender).reason()).isEqualTo(Reason.TIMEOUT);
      assertThat(reasonOf(arrived)).isEqualTo(Reason.TIMEOUT);
      assertPoolsWhole(peers, 32);
      assertThat(peers.clientCount("disagg.kv.transfer.failed", "reason", "TIMEOUT")).isEqualTo(1);
      assertThat(peers.client.openConnections(KvAddress.tcp("127.0.0.1", proxy.port()))).isZero();
    }
  }

  @Test
  void pool_connectionUnusedForIdleTimeout_isClosedAndForgotten() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 2, 2, dir, b -> b, b -> b.idleTimeout(Duration.ofMillis(300)));
        KvReservation source = TestKv.randomCache(peers.senderPool, 2 * 32, 14)) {
      KvExport export = export(peers, source, "idle", 2 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("idle");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export).get(10, TimeUnit.SECONDS);
      arrived.get(5, TimeUnit.SECONDS).reservation().close();
      assertThat(peers.client.openConnections(peers.tcp())).isEqualTo(1);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (peers.client.openConnections(peers.tcp()) > 0 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(peers.client.openConnections(peers.tcp())).isZero();

      CompletableFuture<ReceivedKv> again = peers.destination.await("idle");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export).get(10, TimeUnit.SECONDS);
      again.get(5, TimeUnit.SECONDS).reservation().close();
      assertPoolsWhole(peers, 2);
    }
  }

  @Test
  void session_senderCancels_receiverReleasesBlocks() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 4, 4, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 4 * 32, 9)) {
      KvExport export = export(peers, source, "cancel", 4 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("cancel");
      KvSendSession session = peers.client.openSession(peers.uds(), KvTransferHeaders.forExport(export, ""),
          LAYOUT, segments(source));
      session.layerComplete(0);
      session.accepted().get(10, TimeUnit.SECONDS);
      session.cancel("prefill aborted");
      assertThat(reasonOf(session.result())).isEqualTo(Reason.CANCELLED);
      assertThat(reasonOf(arrived)).isEqualTo(Reason.CANCELLED);
      session.released().get(5, TimeUnit.SECONDS);
      session.layerComplete(1);
      assertPoolsWhole(peers, 4);
    }
  }

  @Test
  void session_cancelledBeforeConnecting_sendsNothingAndLeavesConnectionClean() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 4, 4, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 4 * 32, 12)) {
      KvExport export = export(peers, source, "early", 4 * 32);
      KvSendSession session = peers.client.openSession(peers.tcp(), KvTransferHeaders.forExport(export, ""),
          LAYOUT, segments(source));
      session.cancel("changed my mind");
      assertThat(reasonOf(session.result())).isEqualTo(Reason.CANCELLED);
      session.released().get(5, TimeUnit.SECONDS);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("early");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export).get(10, TimeUnit.SECONDS);
      arrived.get(5, TimeUnit.SECONDS).reservation().close();
      assertPoolsWhole(peers, 4);
    }
  }

  @Test
  void push_futureCancelled_cancelsOnReceiverToo() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 4, 4, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 4 * 32, 10)) {
      KvExport export = export(peers, source, "fc", 4 * 32);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("fc");
      KvSendSession session = peers.client.openSession(peers.tcp(), KvTransferHeaders.forExport(export, ""),
          LAYOUT, segments(source));
      session.layerComplete(0);
      session.accepted().get(10, TimeUnit.SECONDS);
      session.result().cancel(true);
      assertThat(reasonOf(arrived)).isEqualTo(Reason.CANCELLED);
      session.released().get(5, TimeUnit.SECONDS);
      assertPoolsWhole(peers, 4);
    }
  }

  @Test
  void server_garbageConnections_closeOnlyThemselves() throws Exception {
    try (Peers peers = new Peers(LAYOUT, 2, 2, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, 50, 11)) {
      // A healthy pooled connection exists before the garbage arrives and must survive it.
      KvExport export = export(peers, source, "ok", 50);
      CompletableFuture<ReceivedKv> first = peers.destination.await("ok");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export).get(10, TimeUnit.SECONDS);
      first.get(5, TimeUnit.SECONDS).reservation().close();

      SplittableRandom random = new SplittableRandom(99);
      for (int i = 0; i < 20; i++) {
        try (Socket s = new Socket("127.0.0.1", peers.tcp().port())) {
          byte[] junk = new byte[random.nextInt(1, 20_000)];
          random.nextBytes(junk);
          if (i % 4 == 0) {
            junk[0] = 0x10;
            junk[1] = 0x7f;
          }
          OutputStream out = s.getOutputStream();
          out.write(junk);
          out.flush();
          s.setSoTimeout(10_000);
          InputStream in = s.getInputStream();
          // The server answers with at most an ERROR frame, then closes: read to end of stream.
          while (in.read() >= 0) {
            // drain
          }
        }
      }
      CompletableFuture<ReceivedKv> second = peers.destination.await("ok");
      peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""), export).get(10, TimeUnit.SECONDS);
      second.get(5, TimeUnit.SECONDS).reservation().close();
      assertThat(peers.client.openConnections(peers.tcp())).isEqualTo(1);
      assertPoolsWhole(peers, 2);
    }
  }

  private static List<MemorySegment> segments(KvReservation r) {
    return r.blocks().stream().map(KvBlock::segment).toList();
  }
}
