package io.disagg.kv.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandler.Sharable;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Encodes {@link Frames.Control} and {@link DataFrame}. A data frame becomes two buffers, a 17-byte prefix and the
 * payload itself, so the payload reaches the socket's gathering write without being copied. Stateless.
 */
@Sharable
public final class FrameEncoder extends MessageToMessageEncoder<Object> {
  public static final FrameEncoder INSTANCE = new FrameEncoder();

  private FrameEncoder() {
    super(Object.class);
  }

  @Override
  public boolean acceptOutboundMessage(Object msg) {
    return msg instanceof Frames.Control || msg instanceof DataFrame;
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Object msg, List<Object> out) {
    if (msg instanceof DataFrame data) {
      ByteBuf payload = data.content();
      ByteBuf prefix = ctx.alloc().directBuffer(Frames.PREFIX_BYTES + Frames.DATA_SUBHEADER_BYTES);
      prefix.writeByte(Frames.DATA)
          .writeInt(Frames.DATA_SUBHEADER_BYTES + payload.readableBytes())
          .writeInt(data.block())
          .writeLong(data.offset());
      out.add(prefix);
      // The encoder releases msg after encode; the retained payload travels on and the channel releases it.
      out.add(payload.retain());
      return;
    }
    out.add(encodeControl(ctx, (Frames.Control) msg));
  }

  /** Encodes a control frame into a new buffer from the channel's allocator; the caller owns (releases) it. */
  static ByteBuf encodeControl(ChannelHandlerContext ctx, Frames.Control frame) {
    ByteBuf buf = ctx.alloc().directBuffer(64);
    boolean ok = false;
    try {
      buf.writeByte(type(frame)).writeInt(0);
      switch (frame) {
        case Frames.Hello h -> buf.writeInt(Frames.MAGIC).writeShort(h.minVersion()).writeShort(h.maxVersion())
            .writeBytes(h.clientNonce());
        case Frames.Challenge c -> buf.writeShort(c.version()).writeBytes(c.serverNonce()).writeBytes(c.serverProof());
        case Frames.Auth a -> buf.writeBytes(a.clientProof());
        case Frames.AuthOk a -> buf.writeInt(a.eagerBytes());
        case Frames.Header h -> buf.writeBytes(h.header().toByteArray());
        case Frames.Accept ignored -> { }
        case Frames.Reject r -> {
          buf.writeShort(r.code());
          ByteBufUtil.writeUtf8(buf, r.message());
        }
        case Frames.Trailer t -> buf.writeInt(t.crc32c()).writeLong(t.totalBytes());
        case Frames.Ack a -> buf.writeLong(a.totalBytes());
        case Frames.Cancel c -> ByteBufUtil.writeUtf8(buf, c.message());
        case Frames.Error e -> {
          buf.writeShort(e.code());
          ByteBufUtil.writeUtf8(buf, e.message());
        }
      }
      buf.setInt(1, buf.writerIndex() - Frames.PREFIX_BYTES);
      ok = true;
      return buf;
    } finally {
      if (!ok) {
        buf.release();
      }
    }
  }

  static byte type(Frames.Control frame) {
    return switch (frame) {
      case Frames.Hello ignored -> Frames.HELLO;
      case Frames.Challenge ignored -> Frames.CHALLENGE;
      case Frames.Auth ignored -> Frames.AUTH;
      case Frames.AuthOk ignored -> Frames.AUTH_OK;
      case Frames.Header ignored -> Frames.HEADER;
      case Frames.Accept ignored -> Frames.ACCEPT;
      case Frames.Reject ignored -> Frames.REJECT;
      case Frames.Trailer ignored -> Frames.TRAILER;
      case Frames.Ack ignored -> Frames.ACK;
      case Frames.Cancel ignored -> Frames.CANCEL;
      case Frames.Error ignored -> Frames.ERROR;
    };
  }
}
