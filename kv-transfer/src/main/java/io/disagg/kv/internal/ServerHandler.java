package io.disagg.kv.internal;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvReservation;
import io.disagg.kv.KvDestination;
import io.disagg.kv.KvTransferException;
import io.disagg.kv.KvTransferException.Reason;
import io.disagg.proto.v1.KvTransferHeader;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.socket.DuplexChannel;
import java.util.concurrent.TimeUnit;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import java.util.zip.CRC32C;

/**
 * Receiving end of one connection: handshake, then any number of transfers, one at a time. Payload is copied once,
 * from the socket read buffer straight into the reserved block at the frame's offset, and the CRC32C is computed
 * over the destination bytes right after the copy (while they are in cache), so what is verified is what is in
 * place. Any failure after ACCEPT fails the transfer, returns its blocks and closes the connection; a REJECT at the
 * header leaves the connection usable. One instance per channel; all methods run on its event loop.
 */
public final class ServerHandler extends ChannelInboundHandlerAdapter {

  /** Everything a connection handler needs from its server. */
  public record Config(
      Handshake handshake,
      KvDestination destination,
      KvMeters meters,
      LongSupplier nanoTime,
      RandomGenerator random,
      String transport,
      int eagerBytes) {}

  /** DISCARDING: after a REJECT, dropping the sender's eager payload until its TRAILER. */
  private enum State { AWAIT_HELLO, AWAIT_AUTH, READY, RECEIVING, DISCARDING, CLOSED }

  /** How long a connection that failed keeps draining the peer's bytes after our ERROR (see sendErrorAndClose). */
  private static final long LINGER_NANOS = TimeUnit.SECONDS.toNanos(2);

  private final Config config;
  private State state = State.AWAIT_HELLO;
  private byte[] clientNonce;
  private byte[] serverNonce;

  private KvTransferHeader header;
  private KvReservation reservation;
  private List<KvBlock> blocks;
  private long blockBytes;
  private long[] filled;
  private long received;
  private long expected;
  private final CRC32C crc = new CRC32C();
  /**
   * The socket's read buffer over the rest of the current frame's payload (see {@link #landing}), reused read after
   * read until the frame is in; this handler holds one reference to it, each read one more.
   */
  private ByteBuf landing;
  private int landingBlock;
  private long landingStart;
  /** A view of one whole destination block, the copy target while its frames arrive through socket buffers (TLS). */
  private ByteBuffer copyTarget;
  private int copyTargetBlock;
  private long startNanos;
  private long discarded;

  public ServerHandler(Config config) {
    this.config = config;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (state == State.CLOSED) {
        return;
      }
      if (msg instanceof DataFrame data) {
        onData(ctx, data);
      } else if (msg instanceof Frames.Control control) {
        onControl(ctx, control);
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  private void onControl(ChannelHandlerContext ctx, Frames.Control frame) {
    if (frame instanceof Frames.Error e) {
      // The client gave up (e.g. it could not verify our proof): count its reason, release, close without reply.
      Reason reason = Reason.fromWireCode(e.code());
      if (reservation != null) {
        failTransfer(reason, "sender: " + e.message());
      } else {
        config.meters().failed(config.transport(), reason, 0);
      }
      close(ctx);
      return;
    }
    switch (state) {
      case AWAIT_HELLO -> {
        if (!(frame instanceof Frames.Hello hello)) {
          fatal(ctx, Reason.PROTOCOL_ERROR, "expected HELLO, got " + frame.getClass().getSimpleName());
          return;
        }
        if (hello.minVersion() > Frames.VERSION || hello.maxVersion() < Frames.VERSION) {
          fatal(ctx, Reason.UNSUPPORTED_VERSION, "client speaks versions " + hello.minVersion() + ".."
              + hello.maxVersion() + ", server " + Frames.VERSION);
          return;
        }
        clientNonce = hello.clientNonce();
        serverNonce = new byte[Frames.NONCE_BYTES];
        config.random().nextBytes(serverNonce);
        state = State.AWAIT_AUTH;
        ctx.writeAndFlush(new Frames.Challenge(
            Frames.VERSION, serverNonce, config.handshake().serverProof(clientNonce, serverNonce)));
      }
      case AWAIT_AUTH -> {
        if (!(frame instanceof Frames.Auth auth)) {
          fatal(ctx, Reason.PROTOCOL_ERROR, "expected AUTH, got " + frame.getClass().getSimpleName());
          return;
        }
        byte[] expectedProof = config.handshake().clientProof(serverNonce, clientNonce);
        if (!Handshake.matches(expectedProof, auth.clientProof())) {
          fatal(ctx, Reason.AUTH_FAILED, "client proof does not match the shared secret");
          return;
        }
        state = State.READY;
        ctx.writeAndFlush(new Frames.AuthOk(config.eagerBytes()));
      }
      case READY -> {
        if (frame instanceof Frames.Header h) {
          onHeader(ctx, h.header());
        } else {
          fatal(ctx, Reason.PROTOCOL_ERROR, "expected HEADER, got " + frame.getClass().getSimpleName());
        }
      }
      case RECEIVING -> {
        switch (frame) {
          case Frames.Trailer t -> onTrailer(ctx, t);
          case Frames.Cancel c -> {
            failTransfer(Reason.CANCELLED, "sender cancelled: " + c.message());
            close(ctx);
          }
          default -> fatal(ctx, Reason.PROTOCOL_ERROR, "unexpected " + frame.getClass().getSimpleName()
              + " during a transfer");
        }
      }
      case DISCARDING -> {
        switch (frame) {
          case Frames.Trailer ignored -> state = State.READY;
          case Frames.Cancel ignored -> close(ctx);
          default -> fatal(ctx, Reason.PROTOCOL_ERROR, "expected TRAILER after REJECT, got "
              + frame.getClass().getSimpleName());
        }
      }
      case CLOSED -> { }
    }
  }

  private void onHeader(ChannelHandlerContext ctx, KvTransferHeader h) {
    String invalid = validate(h);
    if (invalid != null) {
      reject(ctx, h, new KvTransferException(Reason.INVALID_HEADER, invalid));
      return;
    }
    KvReservation r;
    try {
      r = config.destination().reserve(h);
    } catch (KvTransferException e) {
      reject(ctx, h, e);
      return;
    } catch (RuntimeException e) {
      reject(ctx, h, new KvTransferException(Reason.INTERNAL, "destination failed: " + e, e));
      return;
    }
    List<KvBlock> reserved = r.blocks();
    String mismatch = null;
    if (reserved.size() != h.getBlockCount()) {
      mismatch = "destination reserved " + reserved.size() + " blocks, header says " + h.getBlockCount();
    } else {
      for (KvBlock b : reserved) {
        if (b.segment().byteSize() < h.getBlockBytes()) {
          mismatch = "destination block of " + b.segment().byteSize() + " bytes, header says " + h.getBlockBytes();
          break;
        }
      }
    }
    if (mismatch != null) {
      r.close();
      reject(ctx, h, new KvTransferException(Reason.INVALID_HEADER, mismatch));
      return;
    }
    header = h;
    reservation = r;
    blocks = reserved;
    blockBytes = h.getBlockBytes();
    filled = new long[reserved.size()];
    received = 0;
    expected = blockBytes * reserved.size();
    crc.reset();
    startNanos = config.nanoTime().getAsLong();
    state = State.RECEIVING;
    config.meters().started(config.transport());
    config.meters().blocksReserved(reserved.size());
    ctx.writeAndFlush(new Frames.Accept());
  }

  private static String validate(KvTransferHeader h) {
    if (h.getRequestId().isEmpty()) {
      return "request_id: empty";
    }
    if (h.getBlockCount() <= 0) {
      return "block_count: " + h.getBlockCount() + " (expected: > 0)";
    }
    if (h.getLayers() <= 0 || h.getKvHeads() <= 0 || h.getHeadDim() <= 0 || h.getBlockTokens() <= 0) {
      return "layout fields must be > 0";
    }
    int elementBytes = switch (h.getDtype()) {
      case KV_DTYPE_F32 -> 4;
      case KV_DTYPE_F16 -> 2;
      default -> 0;
    };
    if (elementBytes == 0) {
      return "dtype: " + h.getDtype() + " (expected: F32 or F16)";
    }
    long computed = 2L * h.getLayers() * h.getKvHeads() * h.getHeadDim() * h.getBlockTokens() * elementBytes;
    if (h.getBlockBytes() != computed) {
      return "block_bytes: " + h.getBlockBytes() + " (expected: " + computed + " from the layout)";
    }
    long blocksNeeded = (h.getTokenCount() + (long) h.getBlockTokens() - 1) / h.getBlockTokens();
    if (h.getTokenCount() == 0 || blocksNeeded != h.getBlockCount()) {
      return "token_count " + h.getTokenCount() + " needs " + blocksNeeded + " blocks, block_count says "
          + h.getBlockCount();
    }
    if (h.getTokenIdsCount() != h.getTokenCount()) {
      return "token_ids: " + h.getTokenIdsCount() + " ids (expected: token_count = " + h.getTokenCount() + ")";
    }
    return null;
  }

  private void reject(ChannelHandlerContext ctx, KvTransferHeader h, KvTransferException e) {
    config.meters().failed(config.transport(), e.reason(), 0);
    // The sender may already have sent up to eagerBytes of payload; it ends the transfer with a TRAILER.
    state = State.DISCARDING;
    discarded = 0;
    ctx.writeAndFlush(new Frames.Reject(e.reason().wireCode(), e.getMessage()));
  }

  private void onData(ChannelHandlerContext ctx, DataFrame data) {
    if (state == State.DISCARDING) {
      discarded += data.content().readableBytes();
      if (discarded > config.eagerBytes()) {
        fatal(ctx, Reason.PROTOCOL_ERROR, "DATA after REJECT: " + discarded + " bytes (expected: <= "
            + config.eagerBytes() + " eager bytes)");
      }
      return;
    }
    if (state != State.RECEIVING) {
      fatal(ctx, Reason.PROTOCOL_ERROR, "DATA outside a transfer (state " + state + ")");
      return;
    }
    int block = data.block();
    ByteBuf payload = data.content();
    int length = payload.readableBytes();
    if (block >= filled.length) {
      fatal(ctx, Reason.PROTOCOL_ERROR, "DATA for block " + block + " of " + filled.length);
      return;
    }
    // Blocks fill front to back whatever the streaming order (whole blocks, or layer slices in layer order), so
    // requiring each frame to continue where the block left off proves full coverage without overlaps.
    if (data.offset() != filled[block] || data.offset() + length > blockBytes) {
      fatal(ctx, Reason.PROTOCOL_ERROR, "DATA block " + block + " offset " + data.offset() + " length " + length
          + " (expected offset " + filled[block] + ", block bytes " + blockBytes + ")");
      return;
    }
    ByteBuffer landed = landedInPlace(payload, block, data.offset(), length);
    if (landed != null) {
      crc.update(landed);
    } else {
      // Read into a socket buffer (TLS, or a read that was not a landing one): the one copy, into place.
      ByteBuffer target = copyTarget(block);
      int from = Math.toIntExact(data.offset());
      target.limit(from + length).position(from);
      payload.getBytes(payload.readerIndex(), target);
      target.position(from);
      crc.update(target);
    }
    filled[block] += length;
    received += length;
    if (landing != null && landingStart + landing.capacity() == filled[block] && landingBlock == block) {
      releaseLanding();
    }
  }

  /**
   * A buffer over the destination of the next {@code length} payload bytes of {@code block} from {@code offset}, for
   * the socket to read into; {@code null} unless exactly that range is the next one this transfer expects (the same
   * check {@link #onData} makes before copying). The buffer does not own the memory; releasing it frees nothing.
   */
  ByteBuf landing(int block, long offset, int length) {
    if (state != State.RECEIVING || block >= filled.length || offset != filled[block] || length <= 0
        || offset + length > blockBytes) {
      return null;
    }
    if (landing != null) {
      if (landingBlock == block && landingStart + landing.writerIndex() == offset
          && landingStart + landing.capacity() == offset + length) {
        // The same frame, continued: the next read goes where the last one ended.
        return landing.retain();
      }
      releaseLanding();
    }
    landing = Unpooled.wrappedBuffer(blocks.get(block).segment().asSlice(offset, length).asByteBuffer()).clear();
    landingBlock = block;
    landingStart = offset;
    return landing.retain();
  }

  /** {@link #copyTarget} for {@code block}; kept while frames go to that block: TLS records are small, blocks are not. */
  private ByteBuffer copyTarget(int block) {
    if (copyTarget == null || copyTargetBlock != block) {
      copyTarget = blocks.get(block).segment().asSlice(0, blockBytes).asByteBuffer();
      copyTargetBlock = block;
    }
    return copyTarget;
  }

  private void releaseLanding() {
    if (landing != null) {
      landing.release();
      landing = null;
    }
  }

  /**
   * The landed bytes as a buffer to checksum, if {@code payload} is what the socket read in place (see
   * {@link #landing}); {@code null} if it lies elsewhere. The decoder slices each payload off the read buffer right
   * before passing it here, so a slice of the landing buffer ends at that buffer's reader index. The buffer returned
   * is the landing buffer's internal one: no allocation per read.
   */
  private ByteBuffer landedInPlace(ByteBuf payload, int block, long offset, int length) {
    if (landing == null || payload.unwrap() != landing || landingBlock != block) {
      return null;
    }
    int end = landing.readerIndex();
    if (end < length || landingStart + end - length != offset) {
      return null;
    }
    return landing.internalNioBuffer(end - length, length);
  }

  private void onTrailer(ChannelHandlerContext ctx, Frames.Trailer trailer) {
    if (received != expected || trailer.totalBytes() != expected) {
      fatal(ctx, Reason.PROTOCOL_ERROR, "TRAILER after " + received + " bytes, sender says "
          + trailer.totalBytes() + ", expected " + expected);
      return;
    }
    int actual = (int) crc.getValue();
    if (actual != trailer.crc32c()) {
      fatal(ctx, Reason.CHECKSUM_MISMATCH, "CRC32C " + Integer.toHexString(actual) + " over " + received
          + " bytes, sender says " + Integer.toHexString(trailer.crc32c()));
      return;
    }
    KvTransferHeader h = header;
    KvReservation filledReservation = reservation;
    long bytes = received;
    int blockCount = blocks.size();
    clearTransfer();
    state = State.READY;
    config.meters().blocksReserved(-blockCount);
    try {
      config.destination().onComplete(h, filledReservation);
    } catch (RuntimeException e) {
      filledReservation.close();
      KvTransferException error = new KvTransferException(Reason.INTERNAL, "destination onComplete failed: " + e, e);
      config.meters().failed(config.transport(), Reason.INTERNAL, bytes);
      sendErrorAndClose(ctx, error);
      return;
    }
    config.meters().completed(config.transport(), bytes, config.nanoTime().getAsLong() - startNanos);
    ctx.writeAndFlush(new Frames.Ack(bytes));
  }

  private void clearTransfer() {
    releaseLanding();
    copyTarget = null;
    header = null;
    reservation = null;
    blocks = null;
    filled = null;
  }

  /** Fails the transfer in flight, if any: blocks back to the pool, destination told, meters counted. */
  private void failTransfer(Reason reason, String message) {
    if (reservation == null) {
      return;
    }
    KvTransferHeader h = header;
    KvReservation r = reservation;
    int blockCount = blocks.size();
    long bytes = received;
    clearTransfer();
    r.close();
    config.meters().blocksReserved(-blockCount);
    config.meters().failed(config.transport(), reason, bytes);
    KvTransferException error = new KvTransferException(reason, message);
    try {
      config.destination().onFailure(h, error);
    } catch (RuntimeException ignored) {
      // The blocks are already back; a failing observer must not keep the connection's cleanup from finishing.
    }
  }

  private void fatal(ChannelHandlerContext ctx, Reason reason, String message) {
    if (reservation != null) {
      failTransfer(reason, message);
    } else if (state != State.CLOSED && state != State.RECEIVING) {
      config.meters().failed(config.transport(), reason, 0);
    }
    sendErrorAndClose(ctx, new KvTransferException(reason, message));
  }

  /**
   * Sends ERROR, then closes gracefully: our side of the stream ends (FIN) and whatever the peer still sends is read
   * and dropped until it closes or {@link #LINGER_NANOS} pass. Closing with unread input would make the kernel send
   * a reset, which can destroy the ERROR before the peer reads it.
   */
  private void sendErrorAndClose(ChannelHandlerContext ctx, KvTransferException error) {
    state = State.CLOSED;
    if (!ctx.channel().isActive()) {
      ctx.close();
      return;
    }
    ctx.writeAndFlush(new Frames.Error(error.reason().wireCode(), error.getMessage())).addListener(f -> {
      if (f.isSuccess() && ctx.channel() instanceof DuplexChannel duplex) {
        duplex.shutdownOutput();
        ctx.executor().schedule(() -> ctx.close(), LINGER_NANOS, TimeUnit.NANOSECONDS);
      } else {
        ctx.close();
      }
    });
  }

  private void close(ChannelHandlerContext ctx) {
    state = State.CLOSED;
    ctx.close();
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (evt instanceof IdleStateEvent idle) {
      if (idle.state() == IdleState.READER_IDLE && (state == State.RECEIVING || state == State.DISCARDING)) {
        fatal(ctx, Reason.TIMEOUT, "no payload for the transfer idle timeout after " + received + " of "
            + expected + " bytes");
      } else if (idle.state() == IdleState.READER_IDLE && (state == State.AWAIT_HELLO || state == State.AWAIT_AUTH)) {
        fatal(ctx, Reason.TIMEOUT, "handshake not completed in time");
      } else if (idle.state() == IdleState.ALL_IDLE && state == State.READY) {
        close(ctx);
      }
      return;
    }
    ctx.fireUserEventTriggered(evt);
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    releaseLanding();
    failTransfer(Reason.CONNECTION_LOST, "connection closed after " + received + " of " + expected + " bytes");
    state = State.CLOSED;
    ctx.fireChannelInactive();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (state == State.CLOSED) {
      return;
    }
    Reason tls = Frames.tlsFailure(cause);
    if (tls != null) {
      // No ERROR frame: a connection whose TLS failed cannot carry one.
      if (state != State.RECEIVING) {
        config.meters().failed(config.transport(), tls, 0);
      }
      failTransfer(tls, "TLS: " + Frames.rootMessage(cause));
      close(ctx);
    } else if (cause instanceof DecoderException) {
      fatal(ctx, Reason.PROTOCOL_ERROR, "malformed frame: " + cause.getMessage());
    } else if (cause instanceof java.io.IOException) {
      failTransfer(Reason.CONNECTION_LOST, "I/O error: " + cause.getMessage());
      close(ctx);
    } else {
      fatal(ctx, Reason.INTERNAL, "unexpected: " + cause);
    }
  }

  /** For tests: whether this connection has finished the handshake and holds no transfer. */
  boolean isReady() {
    return state == State.READY;
  }

}
