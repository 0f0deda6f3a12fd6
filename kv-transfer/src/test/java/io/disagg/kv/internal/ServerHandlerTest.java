package io.disagg.kv.internal;

import static io.disagg.kv.internal.FrameCodecTest.encode;
import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvLayout;
import io.disagg.kv.KvTransferException;
import io.disagg.kv.KvTransferHeaders;
import io.disagg.kv.PoolKvDestination;
import io.disagg.kv.ReceivedKv;
import io.disagg.kv.testing.NettyLeakExtension;
import io.disagg.kv.testing.TestKv;
import io.disagg.proto.v1.KvTransferHeader;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The receiving state machine through {@link EmbeddedChannel}: protocol rules, failures, and fuzzing. */
@ExtendWith(NettyLeakExtension.class)
class ServerHandlerTest {
  private static final KvLayout LAYOUT = TestKv.SMALL;
  private final KvBlockPool pool = KvBlockPools.offHeap(LAYOUT, 8);
  private final PoolKvDestination destination =
      PoolKvDestination.builder().pool(pool).fingerprint(TestKv.fingerprint(LAYOUT)).build();
  private final Handshake handshake = new Handshake(TestKv.SECRET);

  @AfterEach
  void closePool() {
    destination.close();
    pool.close();
  }

  private EmbeddedChannel newServer() {
    ServerHandler.Config config = new ServerHandler.Config(handshake, destination,
        new KvMeters(new SimpleMeterRegistry(), "receive"), System::nanoTime, new SplittableRandom(7), "tcp",
        1 << 20);
    return new EmbeddedChannel(new FrameDecoder(1 << 16, 1 << 16), FrameEncoder.INSTANCE, new ServerHandler(config));
  }

  /** Client bytes of a valid handshake against a server whose nonce comes from {@code SplittableRandom(7)}. */
  private byte[] handshakeBytes(byte[] clientNonce) {
    byte[] serverNonce = new byte[Frames.NONCE_BYTES];
    new SplittableRandom(7).nextBytes(serverNonce);
    return concat(encode(new Frames.Hello(Frames.VERSION, Frames.VERSION, clientNonce)),
        encode(new Frames.Auth(handshake.clientProof(serverNonce, clientNonce))));
  }

  private static KvTransferHeader header(String id, int tokens) {
    int[] ids = new int[tokens];
    return KvTransferHeaders.of(id, TestKv.fingerprint(LAYOUT), ids, LAYOUT.blocksFor(tokens), "");
  }

  /** Client bytes of a complete transfer of {@code payload} (block-major), with {@code crc} in the trailer. */
  private static byte[] transferBytes(KvTransferHeader h, byte[] payload, int crc) {
    List<Object> frames = new ArrayList<>();
    frames.add(new Frames.Header(h));
    int blockBytes = (int) LAYOUT.blockBytes();
    for (int b = 0; b < h.getBlockCount(); b++) {
      frames.add(new DataFrame(b, 0, Unpooled.wrappedBuffer(payload, b * blockBytes, blockBytes)));
    }
    frames.add(new Frames.Trailer(crc, payload.length));
    return encode(frames.toArray());
  }

  private static int crc(byte[] payload) {
    CRC32C c = new CRC32C();
    c.update(payload);
    return (int) c.getValue();
  }

  private static List<Frames.Control> replies(EmbeddedChannel ch) {
    EmbeddedChannel decoder = new EmbeddedChannel(new FrameDecoder(1 << 16, 1 << 16));
    ByteBuf b;
    while ((b = ch.readOutbound()) != null) {
      decoder.writeInbound(b);
    }
    List<Frames.Control> out = new ArrayList<>();
    for (Object o : FrameCodecTest.drainInbound(decoder)) {
      out.add((Frames.Control) o);
    }
    decoder.finishAndReleaseAll();
    return out;
  }

  @Test
  void validTransfer_acksAfterDestinationOwnsVerifiedBlocks() throws Exception {
    EmbeddedChannel ch = newServer();
    byte[] payload = new byte[(int) (2 * LAYOUT.blockBytes())];
    new SplittableRandom(3).nextBytes(payload);
    CompletableFuture<ReceivedKv> received = destination.await("r1");
    ch.writeInbound(Unpooled.wrappedBuffer(handshakeBytes(new byte[32])));
    ch.writeInbound(Unpooled.wrappedBuffer(transferBytes(header("r1", 5), payload, crc(payload))));

    List<Frames.Control> replies = replies(ch);
    assertThat(replies).extracting(f -> f.getClass().getSimpleName())
        .containsExactly("Challenge", "AuthOk", "Accept", "Ack");
    ReceivedKv kv = received.getNow(null);
    assertThat(kv).isNotNull();
    try (var r = kv.reservation()) {
      byte[] got = new byte[payload.length];
      for (int b = 0; b < 2; b++) {
        java.lang.foreign.MemorySegment.copy(r.blocks().get(b).segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, 0,
            got, (int) (b * LAYOUT.blockBytes()), (int) LAYOUT.blockBytes());
      }
      assertThat(got).isEqualTo(payload);
    }
    assertThat(ch.isActive()).isTrue();
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void transfer_checksumMismatch_sendsErrorClosesAndReleasesBlocks() {
    EmbeddedChannel ch = newServer();
    byte[] payload = new byte[(int) LAYOUT.blockBytes()];
    CompletableFuture<ReceivedKv> received = destination.await("r2");
    ch.writeInbound(Unpooled.wrappedBuffer(handshakeBytes(new byte[32])));
    ch.writeInbound(Unpooled.wrappedBuffer(transferBytes(header("r2", 4), payload, crc(payload) ^ 1)));

    assertThat(replies(ch)).last().isInstanceOfSatisfying(Frames.Error.class,
        e -> assertThat(e.code()).isEqualTo(KvTransferException.Reason.CHECKSUM_MISMATCH.wireCode()));
    assertThat(ch.isActive()).isFalse();
    assertThat(received).isCompletedExceptionally();
    assertThat(received.exceptionNow()).isInstanceOfSatisfying(KvTransferException.class,
        e -> assertThat(e.reason()).isEqualTo(KvTransferException.Reason.CHECKSUM_MISMATCH));
    assertThat(pool.freeBlocks()).isEqualTo(pool.totalBlocks());
    ch.finishAndReleaseAll();
  }

  @Test
  void auth_wrongProof_closesWithAuthFailed() {
    EmbeddedChannel ch = newServer();
    ch.writeInbound(Unpooled.wrappedBuffer(concat(
        encode(new Frames.Hello(Frames.VERSION, Frames.VERSION, new byte[32])),
        encode(new Frames.Auth(new byte[32])))));
    assertThat(replies(ch)).last().isInstanceOfSatisfying(Frames.Error.class,
        e -> assertThat(e.code()).isEqualTo(KvTransferException.Reason.AUTH_FAILED.wireCode()));
    assertThat(ch.isActive()).isFalse();
    ch.finishAndReleaseAll();
  }

  @Test
  void headerBeforeAuth_isProtocolError() {
    EmbeddedChannel ch = newServer();
    ch.writeInbound(Unpooled.wrappedBuffer(encode(new Frames.Header(header("r", 4)))));
    assertThat(ch.isActive()).isFalse();
    assertThat(pool.freeBlocks()).isEqualTo(pool.totalBlocks());
    ch.finishAndReleaseAll();
  }

  @Test
  void header_noRoom_rejectsAndKeepsConnection() {
    EmbeddedChannel ch = newServer();
    ch.writeInbound(Unpooled.wrappedBuffer(handshakeBytes(new byte[32])));
    ch.writeInbound(Unpooled.wrappedBuffer(encode(new Frames.Header(header("big", 9 * LAYOUT.blockTokens())))));
    assertThat(replies(ch)).last().isInstanceOfSatisfying(Frames.Reject.class,
        r -> assertThat(r.code()).isEqualTo(KvTransferException.Reason.NO_ROOM.wireCode()));
    assertThat(ch.isActive()).isTrue();
    ch.finishAndReleaseAll();
  }

  @Test
  void header_rejected_eagerPayloadDroppedUntilTrailerThenNextTransferAccepted() throws Exception {
    EmbeddedChannel ch = newServer();
    ch.writeInbound(Unpooled.wrappedBuffer(handshakeBytes(new byte[32])));
    // A pipelining sender: HEADER, DATA and TRAILER in one go, for more blocks than the pool holds.
    byte[] big = new byte[(int) (9 * LAYOUT.blockBytes())];
    ch.writeInbound(Unpooled.wrappedBuffer(transferBytes(header("big", 9 * LAYOUT.blockTokens()), big, crc(big))));
    byte[] payload = new byte[(int) (2 * LAYOUT.blockBytes())];
    new SplittableRandom(5).nextBytes(payload);
    CompletableFuture<ReceivedKv> received = destination.await("next");
    ch.writeInbound(Unpooled.wrappedBuffer(transferBytes(header("next", 5), payload, crc(payload))));

    assertThat(replies(ch)).extracting(f -> f.getClass().getSimpleName())
        .containsExactly("Challenge", "AuthOk", "Reject", "Accept", "Ack");
    received.getNow(null).reservation().close();
    assertThat(pool.freeBlocks()).isEqualTo(pool.totalBlocks());
    assertThat(ch.isActive()).isTrue();
    ch.finishAndReleaseAll();
  }

  @Test
  void header_rejected_payloadBeyondEagerCredit_isProtocolError() {
    EmbeddedChannel ch = newServer();
    ch.writeInbound(Unpooled.wrappedBuffer(handshakeBytes(new byte[32])));
    ch.writeInbound(Unpooled.wrappedBuffer(encode(new Frames.Header(header("big", 9 * LAYOUT.blockTokens())))));
    // The server granted 1 MiB of eager payload (newServer); a rejected sender must stop there.
    for (int i = 0; i < 1100 && ch.isActive(); i++) {
      ch.writeInbound(Unpooled.wrappedBuffer(encode(new DataFrame(0, 0, Unpooled.wrappedBuffer(new byte[1024])))));
    }
    assertThat(replies(ch)).last().isInstanceOfSatisfying(Frames.Error.class,
        e -> assertThat(e.code()).isEqualTo(KvTransferException.Reason.PROTOCOL_ERROR.wireCode()));
    assertThat(ch.isActive()).isFalse();
    assertThat(pool.freeBlocks()).isEqualTo(pool.totalBlocks());
    ch.finishAndReleaseAll();
  }

  @Test
  void data_outOfOrderOffset_isProtocolErrorAndReleasesBlocks() {
    EmbeddedChannel ch = newServer();
    ch.writeInbound(Unpooled.wrappedBuffer(handshakeBytes(new byte[32])));
    ch.writeInbound(Unpooled.wrappedBuffer(concat(encode(new Frames.Header(header("r", 4))),
        encode(new DataFrame(0, 8, Unpooled.wrappedBuffer(new byte[8]))))));
    assertThat(ch.isActive()).isFalse();
    assertThat(pool.freeBlocks()).isEqualTo(pool.totalBlocks());
    ch.finishAndReleaseAll();
  }

  /**
   * Thousands of generated inputs: pure noise, and valid sessions with bytes flipped, truncated, duplicated or
   * oversized. Whatever arrives, the handler must not throw, must leave the pool whole, and must never leak.
   */
  @Test
  void fuzz_generatedInputs_neverThrowLeakOrKeepBlocks() {
    SplittableRandom random = new SplittableRandom(20260523);
    byte[] payload = new byte[(int) (2 * LAYOUT.blockBytes())];
    random.nextBytes(payload);
    byte[] valid = concat(handshakeBytes(new byte[32]), transferBytes(header("f", 6), payload, crc(payload)));
    int closed = 0;
    for (int i = 0; i < 3000; i++) {
      byte[] input = mutate(valid, random, i % 6);
      EmbeddedChannel ch = newServer();
      int pos = 0;
      while (pos < input.length && ch.isOpen()) {
        int n = Math.min(input.length - pos, 1 + random.nextInt(700));
        ch.writeInbound(Unpooled.wrappedBuffer(input, pos, n));
        pos += n;
      }
      if (!ch.isOpen()) {
        closed++;
      }
      ch.finishAndReleaseAll();
      // An input that still carries a whole valid transfer may complete it: the consumer then owns the blocks.
      releaseCompleted();
      assertThat(pool.freeBlocks()).as("input %d", i).isEqualTo(pool.totalBlocks());
    }
    assertThat(closed).as("most corrupted inputs close the connection").isGreaterThan(1500);
  }

  private void releaseCompleted() {
    CompletableFuture<ReceivedKv> f = destination.await("f");
    if (f.isDone() && !f.isCompletedExceptionally()) {
      f.join().reservation().close();
    } else {
      f.cancel(false);
    }
  }

  private static byte[] mutate(byte[] valid, SplittableRandom random, int kind) {
    byte[] out;
    switch (kind) {
      case 0 -> {
        out = new byte[random.nextInt(1, 4096)];
        random.nextBytes(out);
      }
      case 1 -> {
        out = valid.clone();
        for (int k = 0, n = random.nextInt(1, 8); k < n; k++) {
          out[random.nextInt(out.length)] ^= (byte) random.nextInt(1, 256);
        }
      }
      case 2 -> out = java.util.Arrays.copyOf(valid, random.nextInt(valid.length));
      case 3 -> {
        int cut = random.nextInt(valid.length);
        byte[] noise = new byte[random.nextInt(1, 64)];
        random.nextBytes(noise);
        out = concat(java.util.Arrays.copyOf(valid, cut), noise,
            java.util.Arrays.copyOfRange(valid, cut, valid.length));
      }
      case 4 -> {
        // A frame prefix claiming an enormous length right after the handshake.
        int hs = 5 + 40 + 5 + 32;
        out = concat(java.util.Arrays.copyOf(valid, hs),
            new byte[] {(byte) (random.nextBoolean() ? Frames.DATA : Frames.HEADER), (byte) 0x7f, -1, -1, -1},
            java.util.Arrays.copyOfRange(valid, hs, valid.length));
      }
      default -> {
        int cut = random.nextInt(valid.length);
        out = concat(valid, java.util.Arrays.copyOfRange(valid, cut, valid.length));
      }
    }
    return out;
  }

  private static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }
}
