package io.disagg.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.kv.bench.SelfSignedTls;
import io.disagg.kv.testing.NettyLeakExtension;
import io.disagg.kv.testing.Peers;
import io.disagg.kv.testing.TestKv;
import io.disagg.proto.v1.KvTransferHeader;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Real transfers over loopback TCP and Unix sockets, every byte compared. */
@ExtendWith(NettyLeakExtension.class)
class KvTransferLoopbackTest {
  @TempDir
  Path dir;

  /** Pushes {@code tokens} tokens of random KV and checks the receiver got exactly those bytes. */
  private static void pushAndVerify(Peers peers, KvAddress target, String id, int tokens, long seed)
      throws Exception {
    try (KvReservation source = TestKv.randomCache(peers.senderPool, tokens, seed)) {
      KvExport export = TestKv.export(id, peers.layout, source, tokens);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await(id);
      TransferResult result = peers.client.push(target, KvTransferHeaders.forExport(export, ""), export)
          .get(60, TimeUnit.SECONDS);
      assertThat(result.bytes()).isEqualTo(export.bytes());
      assertThat(result.transport()).isEqualTo(target.transport());
      ReceivedKv kv = arrived.get(10, TimeUnit.SECONDS);
      try (KvReservation received = kv.reservation()) {
        assertThat(TestKv.sameContents(source, received)).as("bytes of %s", id).isTrue();
        assertThat(kv.toImport().tokens()).hasSize(tokens);
      }
    }
  }

  @ParameterizedTest(name = "{0} {1} tokens")
  @CsvSource({
      "tcp, 1", "uds, 1", "tcp, 33", "uds, 95", "tcp, 2048", "uds, 2048", "tcp, 32768"
  })
  void push_manySizes_receiverHoldsIdenticalBytes(String transport, int tokens) throws Exception {
    // LARGE: 256 KiB per 32-token block, so 2048 tokens = 16 MiB and 32768 tokens = 256 MiB.
    KvLayout layout = TestKv.LARGE;
    int blocks = layout.blocksFor(tokens);
    try (Peers peers = new Peers(layout, blocks, blocks, dir)) {
      pushAndVerify(peers, peers.address(transport), "req-" + tokens, tokens, tokens);
      assertThat(peers.receiverPool.freeBlocks()).isEqualTo(blocks);
      assertThat(peers.serverCount("disagg.kv.transfer.completed", "transport", transport)).isEqualTo(1);
      assertThat(peers.serverCount("disagg.kv.transfer.bytes", "transport", transport))
          .isEqualTo(blocks * layout.blockBytes());
    }
  }

  /**
   * TLS on both ends (certificate made by keytool): over TCP the payload is decrypted, then copied into place and
   * verified; a Unix socket stays plaintext (it never leaves the host) with the same contexts configured.
   */
  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"epoll, tcp", "epoll, uds", "nio, tcp"})
  void push_overTls_receiverHoldsIdenticalBytes(String transport, String socket) throws Exception {
    boolean epoll = "epoll".equals(transport);
    SelfSignedTls tls = SelfSignedTls.create(dir);
    KvLayout layout = TestKv.LARGE;
    int tokens = 1000;
    int blocks = layout.blocksFor(tokens);
    try (Peers peers = new Peers(layout, blocks, blocks, dir, s -> s.preferNative(epoll).sslContext(tls.serverContext()),
        c -> c.preferNative(epoll).sslContext(tls.clientContext()))) {
      org.junit.jupiter.api.Assumptions.assumeTrue(!epoll || "epoll".equals(peers.client.transportName()),
          "native epoll not available here");
      for (int i = 0; i < 2; i++) {
        pushAndVerify(peers, peers.address(socket), "tls-" + i, tokens - i * 7, 70 + i);
      }
      assertThat(peers.client.openConnections(peers.address(socket))).isEqualTo(1);
      assertThat(peers.receiverPool.freeBlocks()).isEqualTo(blocks);
    }
  }

  @Test
  void push_tlsServerNotTrusted_failsAuthAndReservesNothing() throws Exception {
    SelfSignedTls serverTls = SelfSignedTls.create(dir);
    SelfSignedTls otherTls = SelfSignedTls.create(dir);
    KvLayout layout = TestKv.LARGE;
    try (Peers peers = new Peers(layout, 2, 2, dir, s -> s.sslContext(serverTls.serverContext()),
        c -> c.sslContext(otherTls.clientContext()));
        KvReservation source = TestKv.randomCache(peers.senderPool, 64, 5)) {
      KvExport export = TestKv.export("untrusted", layout, source, 64);
      CompletableFuture<TransferResult> push = peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, ""),
          export);
      Throwable failure = org.assertj.core.api.Assertions.catchThrowable(() -> push.get(20, TimeUnit.SECONDS));
      assertThat(failure).hasCauseInstanceOf(KvTransferException.class);
      assertThat(((KvTransferException) failure.getCause()).reason()).isEqualTo(KvTransferException.Reason.AUTH_FAILED);
      assertThat(failure.getCause()).hasMessageContaining("TLS");
      assertThat(peers.receiverPool.freeBlocks()).isEqualTo(2);
      assertThat(peers.serverCount("disagg.kv.transfer.started", "transport", "tcp")).isZero();
    }
  }

  /** The Unix-socket send buffer is a tuning knob: any size moves the same bytes; a negative one is refused. */
  @ParameterizedTest(name = "SO_SNDBUF {0}")
  @CsvSource({"0", "65536", "4194304"})
  void push_unixSocketAnySendBuffer_receiverHoldsIdenticalBytes(int sendBuffer) throws Exception {
    KvLayout layout = TestKv.LARGE;
    int tokens = 1500;
    int blocks = layout.blocksFor(tokens);
    try (Peers peers = new Peers(layout, blocks, blocks, dir, s -> s, c -> c.unixSendBufferBytes(sendBuffer))) {
      pushAndVerify(peers, peers.uds(), "sndbuf-" + sendBuffer, tokens, sendBuffer);
    }
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> KvTransferClient.builder().unixSendBufferBytes(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unixSendBufferBytes");
  }

  @Test
  void transports_linuxX86_64_usesNativeEpoll() {
    boolean linuxX64 = System.getProperty("os.name").equals("Linux")
        && List.of("amd64", "x86_64").contains(System.getProperty("os.arch"));
    org.junit.jupiter.api.Assumptions.assumeTrue(linuxX64, "native epoll ships for linux-x86_64 only");
    try (KvTransferClient client = KvTransferClient.builder().secret(TestKv.SECRET).build()) {
      assertThat(client.transportName()).isEqualTo("epoll");
    }
  }

  /** Both transports, both socket kinds, with and without pipelined payload; 16 MiB in frames of several sizes. */
  @ParameterizedTest(name = "{0} {1} eager {2} frame {3}")
  @CsvSource({
      "epoll, tcp, 4194304, 1048576", "epoll, uds, 4194304, 4194304", "epoll, tcp, 0, 65536",
      "nio, tcp, 4194304, 1048576", "nio, uds, 4194304, 4194304", "nio, uds, 0, 65536"
  })
  void push_eachTransport_receiverHoldsIdenticalBytes(String transport, String socket, int eager, int frame)
      throws Exception {
    boolean epoll = "epoll".equals(transport);
    KvLayout layout = TestKv.LARGE;
    int tokens = 2048;
    int blocks = layout.blocksFor(tokens);
    try (Peers peers = new Peers(layout, blocks, blocks, dir,
        s -> s.preferNative(epoll).eagerPayloadBytes(eager), c -> c.preferNative(epoll).maxDataFrameBytes(frame))) {
      org.junit.jupiter.api.Assumptions.assumeTrue(!epoll || "epoll".equals(peers.client.transportName()),
          "native epoll not available here");
      assertThat(peers.client.transportName()).isEqualTo(transport);
      assertThat(peers.server.transportName()).isEqualTo(transport);
      for (int i = 0; i < 3; i++) {
        pushAndVerify(peers, peers.address(socket), "t" + i, tokens, 40 + i);
      }
      assertThat(peers.client.openConnections(peers.address(socket))).isEqualTo(1);
      assertThat(peers.receiverPool.freeBlocks()).isEqualTo(blocks);
    }
  }

  @Test
  void push_32Concurrent_everyByteVerified() throws Exception {
    KvLayout layout = TestKv.LARGE;
    int n = 40;
    int tokens = 3 * layout.blockTokens() + 5;
    int blocks = layout.blocksFor(tokens);
    try (Peers peers = new Peers(layout, n * blocks, n * blocks, dir)) {
      List<KvReservation> sources = new ArrayList<>();
      List<CompletableFuture<TransferResult>> pushes = new ArrayList<>();
      List<CompletableFuture<ReceivedKv>> arrivals = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        KvReservation source = TestKv.randomCache(peers.senderPool, tokens, 1000 + i);
        sources.add(source);
        KvExport export = TestKv.export("c" + i, layout, source, tokens);
        arrivals.add(peers.destination.await("c" + i));
        KvAddress target = i % 2 == 0 ? peers.tcp() : peers.uds();
        pushes.add(peers.client.push(target, KvTransferHeaders.forExport(export, ""), export));
      }
      CompletableFuture.allOf(pushes.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
      for (int i = 0; i < n; i++) {
        try (KvReservation received = arrivals.get(i).get(10, TimeUnit.SECONDS).reservation()) {
          assertThat(TestKv.sameContents(sources.get(i), received)).as("transfer %d", i).isTrue();
        }
        sources.get(i).close();
      }
      assertThat(peers.client.openConnections(peers.tcp())).isBetween(1, 4);
      assertThat(peers.receiverPool.freeBlocks()).isEqualTo(peers.receiverPool.totalBlocks());
    }
  }

  @Test
  void push_sequentialToSamePeer_reusesOneConnection() throws Exception {
    try (Peers peers = new Peers(TestKv.SMALL, 4, 4, dir)) {
      for (int i = 0; i < 5; i++) {
        pushAndVerify(peers, peers.tcp(), "seq" + i, 7, i);
      }
      assertThat(peers.client.openConnections(peers.tcp())).isEqualTo(1);
    }
  }

  @Test
  void push_registeredReservation_fillsExactlyThoseBlocks() throws Exception {
    try (Peers peers = new Peers(TestKv.SMALL, 4, 8, dir)) {
      KvReservation granted = peers.receiverPool.reserve(2);
      List<Integer> grantedIdx = granted.blocks().stream().map(KvBlock::index).toList();
      peers.destination.register("res-1", granted);
      try (KvReservation source = TestKv.randomCache(peers.senderPool, 6, 9)) {
        KvExport export = TestKv.export("with-res", peers.layout, source, 6);
        CompletableFuture<ReceivedKv> arrived = peers.destination.await("with-res");
        peers.client.push(peers.tcp(), KvTransferHeaders.forExport(export, "res-1"), export).get(10, TimeUnit.SECONDS);
        try (KvReservation received = arrived.get(10, TimeUnit.SECONDS).reservation()) {
          assertThat(received.blocks()).extracting(KvBlock::index).isEqualTo(grantedIdx);
          assertThat(TestKv.sameContents(source, received)).isTrue();
        }
      }
      assertThat(peers.destination.unregister("res-1")).isNull();
    }
  }

  @Test
  void session_layerByLayer_exposesCacheOnlyAfterFinish() throws Exception {
    KvLayout layout = TestKv.LARGE;
    int tokens = 5 * layout.blockTokens();
    try (Peers peers = new Peers(layout, 5, 5, dir);
        KvReservation source = TestKv.randomCache(peers.senderPool, tokens, 77)) {
      KvExport export = TestKv.export("inc", layout, source, tokens);
      CompletableFuture<ReceivedKv> arrived = peers.destination.await("inc");
      List<MemorySegment> segments = source.blocks().stream().map(KvBlock::segment).toList();
      KvTransferHeader header = KvTransferHeaders.forExport(export, "");
      KvSendSession session = peers.client.openSession(peers.uds(), header, layout, segments);
      var listener = session.asPrefillListener();
      for (int layer = 0; layer < layout.layers(); layer++) {
        listener.onLayerComplete(null, layer);
      }
      // Every layer's bytes may be in place, but without the trailer's checksum nothing is exposed.
      assertThat(arrived).isNotDone();
      TransferResult result = session.finish().get(10, TimeUnit.SECONDS);
      assertThat(result.bytes()).isEqualTo(export.bytes());
      try (KvReservation received = arrived.get(10, TimeUnit.SECONDS).reservation()) {
        assertThat(TestKv.sameContents(source, received)).isTrue();
      }
      session.released().get(1, TimeUnit.SECONDS);
    }
  }
}
