package io.disagg.kv.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import io.disagg.proto.v1.KvTransferHeader;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Splits the byte stream into {@link Frames.Control} frames and {@link DataFrame}s. Control frames are decoded whole
 * (bounded by {@code maxControlBytes}); DATA payload is passed on as soon as any of it is readable, as retained
 * slices of the read buffer, so payload never waits in, or is copied into, the cumulation buffer. The cumulator is
 * the composite one for the same reason: a frame prefix split across two reads must not make the decoder copy the
 * next read buffer to join them.
 *
 * <p>After the first malformed or oversized frame it throws a {@link DecoderException} and discards everything after it;
 * the handler behind closes the connection. One instance per channel.
 */
public final class FrameDecoder extends ByteToMessageDecoder {
  private final int maxControlBytes;
  private final int maxDataBytes;
  private int dataBlock;
  private long dataOffset;
  private int dataRemaining;
  private boolean failed;

  /**
   * @param maxControlBytes largest control-frame body accepted
   * @param maxDataBytes largest DATA payload accepted in one frame
   */
  public FrameDecoder(int maxControlBytes, int maxDataBytes) {
    this.maxControlBytes = maxControlBytes;
    this.maxDataBytes = maxDataBytes;
    setCumulator(COMPOSITE_CUMULATOR);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    try {
      decodeOne(in, out);
    } catch (DecoderException e) {
      failed = true;
      in.skipBytes(in.readableBytes());
      throw e;
    }
  }

  private void decodeOne(ByteBuf in, List<Object> out) {
    if (dataRemaining > 0) {
      int n = Math.min(dataRemaining, in.readableBytes());
      if (n == 0) {
        return;
      }
      out.add(new DataFrame(dataBlock, dataOffset, in.readRetainedSlice(n)));
      dataOffset += n;
      dataRemaining -= n;
      return;
    }
    if (in.readableBytes() < Frames.PREFIX_BYTES) {
      return;
    }
    int start = in.readerIndex();
    byte type = in.getByte(start);
    long length = in.getUnsignedInt(start + 1);
    if (type == Frames.DATA) {
      long payload = length - Frames.DATA_SUBHEADER_BYTES;
      if (payload <= 0 || payload > maxDataBytes) {
        throw new TooLongFrameException(
            "DATA payload: " + payload + " bytes (expected: 1.." + maxDataBytes + ")");
      }
      if (in.readableBytes() < Frames.PREFIX_BYTES + Frames.DATA_SUBHEADER_BYTES) {
        return;
      }
      in.skipBytes(Frames.PREFIX_BYTES);
      dataBlock = in.readInt();
      dataOffset = in.readLong();
      if (dataBlock < 0 || dataOffset < 0) {
        throw new CorruptedFrameException("DATA block " + dataBlock + " offset " + dataOffset + " (expected: >= 0)");
      }
      dataRemaining = (int) payload;
      return;
    }
    if (length > maxControlBytes) {
      throw new TooLongFrameException(
          "frame type " + type + ": " + length + " bytes (expected: <= " + maxControlBytes + ")");
    }
    checkKnownType(type);
    if (in.readableBytes() < Frames.PREFIX_BYTES + length) {
      return;
    }
    in.skipBytes(Frames.PREFIX_BYTES);
    ByteBuf body = in.readSlice((int) length);
    out.add(parseControl(type, body));
    if (body.isReadable()) {
      throw new CorruptedFrameException("frame type " + type + ": " + body.readableBytes() + " trailing bytes");
    }
  }

  /** Whether the next stream bytes are DATA payload (and none are buffered here). */
  boolean inPayload() {
    return dataRemaining > 0 && !failed && !internalBuffer().isReadable();
  }

  int payloadBlock() {
    return dataBlock;
  }

  long payloadOffset() {
    return dataOffset;
  }

  int payloadRemaining() {
    return dataRemaining;
  }

  /**
   * How many more bytes complete what the decoder is in the middle of: the rest of a DATA payload, of a frame prefix
   * (with DATA's sub-header, which is also a whole TRAILER), or of a control frame. Reading no more than this never
   * pulls the next frame's payload into a read buffer.
   */
  int bytesWanted() {
    if (failed) {
      return 64 << 10;
    }
    if (dataRemaining > 0) {
      return dataRemaining;
    }
    ByteBuf in = internalBuffer();
    int have = in.readableBytes();
    int head = Frames.PREFIX_BYTES + Frames.DATA_SUBHEADER_BYTES;
    if (have >= Frames.PREFIX_BYTES && in.getByte(in.readerIndex()) != Frames.DATA) {
      long frame = Frames.PREFIX_BYTES + Math.min(in.getUnsignedInt(in.readerIndex() + 1), maxControlBytes);
      return (int) Math.max(1, frame - have);
    }
    return Math.max(1, head - have);
  }

  private static void checkKnownType(byte type) {
    switch (type) {
      case Frames.HELLO, Frames.CHALLENGE, Frames.AUTH, Frames.AUTH_OK, Frames.HEADER, Frames.ACCEPT, Frames.REJECT,
          Frames.TRAILER, Frames.ACK, Frames.CANCEL, Frames.ERROR -> { }
      default -> throw new CorruptedFrameException("unknown frame type " + type);
    }
  }

  private static Frames.Control parseControl(byte type, ByteBuf body) {
    try {
      return switch (type) {
        case Frames.HELLO -> {
          int magic = body.readInt();
          if (magic != Frames.MAGIC) {
            throw new CorruptedFrameException("HELLO magic " + Integer.toHexString(magic) + " (expected: 444b5631)");
          }
          yield new Frames.Hello(body.readUnsignedShort(), body.readUnsignedShort(), bytes(body, Frames.NONCE_BYTES));
        }
        case Frames.CHALLENGE -> new Frames.Challenge(
            body.readUnsignedShort(), bytes(body, Frames.NONCE_BYTES), bytes(body, Frames.MAC_BYTES));
        case Frames.AUTH -> new Frames.Auth(bytes(body, Frames.MAC_BYTES));
        case Frames.AUTH_OK -> {
          int eager = body.readInt();
          if (eager < 0) {
            throw new CorruptedFrameException("AUTH_OK eager bytes " + eager + " (expected: >= 0)");
          }
          yield new Frames.AuthOk(eager);
        }
        case Frames.HEADER -> {
          KvTransferHeader header = KvTransferHeader.parseFrom(body.nioBuffer());
          body.skipBytes(body.readableBytes());
          yield new Frames.Header(header);
        }
        case Frames.ACCEPT -> new Frames.Accept();
        case Frames.REJECT -> new Frames.Reject(body.readUnsignedShort(), utf8(body));
        case Frames.TRAILER -> new Frames.Trailer(body.readInt(), body.readLong());
        case Frames.ACK -> new Frames.Ack(body.readLong());
        case Frames.CANCEL -> new Frames.Cancel(utf8(body));
        case Frames.ERROR -> new Frames.Error(body.readUnsignedShort(), utf8(body));
        default -> throw new CorruptedFrameException("unknown frame type " + type);
      };
    } catch (IndexOutOfBoundsException e) {
      throw new CorruptedFrameException("frame type " + type + ": truncated body", e);
    } catch (InvalidProtocolBufferException e) {
      throw new CorruptedFrameException("HEADER: not a KvTransferHeader", e);
    }
  }

  private static byte[] bytes(ByteBuf body, int n) {
    byte[] b = new byte[n];
    body.readBytes(b);
    return b;
  }

  private static String utf8(ByteBuf body) {
    String s = body.toString(StandardCharsets.UTF_8);
    body.skipBytes(body.readableBytes());
    return s;
  }
}
