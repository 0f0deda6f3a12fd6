package io.disagg.kv.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.kv.testing.NettyLeakExtension;
import io.disagg.proto.v1.KvTransferHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NettyLeakExtension.class)
class FrameCodecTest {

  /** Encodes {@code frames} through {@link FrameEncoder} and returns the wire bytes. */
  static byte[] encode(Object... frames) {
    EmbeddedChannel ch = new EmbeddedChannel(FrameEncoder.INSTANCE);
    try {
      for (Object f : frames) {
        ch.writeOutbound(f);
      }
      ByteBuf all = Unpooled.buffer();
      ByteBuf part;
      while ((part = ch.readOutbound()) != null) {
        all.writeBytes(part);
        part.release();
      }
      byte[] bytes = new byte[all.readableBytes()];
      all.readBytes(bytes);
      all.release();
      return bytes;
    } finally {
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void controlFrames_roundTrip_decodeToEqualFrames() {
    byte[] nonce = new byte[32];
    nonce[3] = 9;
    KvTransferHeader header = KvTransferHeader.newBuilder().setRequestId("r1").setBlockCount(3).addTokenIds(5).build();
    byte[] wire = encode(new Frames.Hello(Frames.VERSION, Frames.VERSION, nonce),
        new Frames.Challenge(Frames.VERSION, nonce, nonce), new Frames.Auth(nonce),
        new Frames.AuthOk(4096), new Frames.Header(header), new Frames.Accept(), new Frames.Reject(1, "no room ü"),
        new Frames.Trailer(0xCAFEBABE, 1L << 33), new Frames.Ack(77), new Frames.Cancel("bye"),
        new Frames.Error(7, "crc"));
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 20, 1 << 20));
    ch.writeInbound(Unpooled.wrappedBuffer(wire));
    List<Object> out = drainInbound(ch);
    assertThat(out).hasSize(11);
    assertThat(((Frames.Hello) out.get(0)).clientNonce()).isEqualTo(nonce);
    assertThat(((Frames.Header) out.get(4)).header()).isEqualTo(header);
    assertThat(out.get(6)).isEqualTo(new Frames.Reject(1, "no room ü"));
    assertThat(out.get(7)).isEqualTo(new Frames.Trailer(0xCAFEBABE, 1L << 33));
    assertThat(out.get(10)).isEqualTo(new Frames.Error(7, "crc"));
    assertThat(ch.finishAndReleaseAll()).isFalse();
  }

  @Test
  void dataFrame_splitAtEveryByte_reassemblesPayloadWithOffsets() {
    byte[] payload = new byte[300];
    new SplittableRandom(1).nextBytes(payload);
    byte[] wire = encode(new DataFrame(2, 4096, Unpooled.wrappedBuffer(payload)), new Frames.Ack(1));
    for (int split = 1; split < wire.length; split++) {
      EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1 << 10, 1 << 10));
      ch.writeInbound(Unpooled.wrappedBuffer(wire, 0, split));
      ch.writeInbound(Unpooled.wrappedBuffer(wire, split, wire.length - split));
      byte[] got = new byte[payload.length];
      int filled = 0;
      Object msg;
      Object last = null;
      while ((msg = ch.readInbound()) != null) {
        if (msg instanceof DataFrame d) {
          try {
            assertThat(d.block()).isEqualTo(2);
            assertThat(d.offset()).isEqualTo(4096 + filled);
            int n = d.content().readableBytes();
            d.content().readBytes(got, filled, n);
            filled += n;
          } finally {
            d.release();
          }
        } else {
          last = msg;
        }
      }
      assertThat(got).as("split at %d", split).isEqualTo(payload);
      assertThat(last).isEqualTo(new Frames.Ack(1));
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void dataFrame_encoded_sendsPayloadBufferItselfWithoutCopy() {
    ByteBuf payload = Unpooled.directBuffer(64).writeZero(64);
    EmbeddedChannel ch = new EmbeddedChannel(FrameEncoder.INSTANCE);
    ch.writeOutbound(new DataFrame(0, 0, payload));
    ByteBuf prefix = ch.readOutbound();
    ByteBuf body = ch.readOutbound();
    try {
      assertThat(prefix.readableBytes()).isEqualTo(Frames.PREFIX_BYTES + Frames.DATA_SUBHEADER_BYTES);
      assertThat(body).isSameAs(payload);
    } finally {
      prefix.release();
      body.release();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void oversizedControlFrame_failsBeforeBuffering() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1024));
    ByteBuf buf = Unpooled.buffer().writeByte(Frames.HEADER).writeInt(1025);
    assertThatThrownBy(() -> ch.writeInbound(buf)).isInstanceOf(DecoderException.class)
        .hasMessageContaining("1025 bytes");
    ch.finishAndReleaseAll();
  }

  @Test
  void oversizedDataFrame_fails() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1024));
    ByteBuf buf = Unpooled.buffer().writeByte(Frames.DATA).writeInt(12 + 1025).writeInt(0).writeLong(0);
    assertThatThrownBy(() -> ch.writeInbound(buf)).isInstanceOf(DecoderException.class)
        .hasMessageContaining("DATA payload");
    ch.finishAndReleaseAll();
  }

  @Test
  void unknownType_fails_andLaterBytesAreDiscarded() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1024));
    assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0x55, 0, 0, 0, 0})))
        .isInstanceOf(DecoderException.class).hasMessageContaining("unknown frame type");
    ch.writeInbound(Unpooled.wrappedBuffer(encode(new Frames.Ack(3))));
    assertThat((Object) ch.readInbound()).isNull();
    ch.finishAndReleaseAll();
  }

  @Test
  void helloWithWrongMagic_fails() {
    byte[] wire = encode(new Frames.Hello(Frames.VERSION, Frames.VERSION, new byte[32]));
    wire[5] = 'X';
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1024));
    assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(wire))).isInstanceOf(DecoderException.class)
        .hasMessageContaining("magic");
    ch.finishAndReleaseAll();
  }

  @Test
  void truncatedControlBody_fails() {
    // A TRAILER needs 12 body bytes; this one claims 4.
    ByteBuf buf = Unpooled.buffer().writeByte(Frames.TRAILER).writeInt(4).writeInt(1);
    EmbeddedChannel ch = new EmbeddedChannel(new FrameDecoder(1024, 1024));
    assertThatThrownBy(() -> ch.writeInbound(buf)).isInstanceOf(DecoderException.class)
        .hasMessageContaining("truncated");
    ch.finishAndReleaseAll();
  }

  static List<Object> drainInbound(EmbeddedChannel ch) {
    List<Object> out = new ArrayList<>();
    Object m;
    while ((m = ch.readInbound()) != null) {
      out.add(m);
    }
    return out;
  }
}
