package io.disagg.kv.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.DefaultMaxMessagesRecvByteBufAllocator;

/**
 * The receiver's read policy: each socket read asks for exactly what the protocol expects next, and DATA payload is
 * read straight into the reserved destination block, so the kernel's copy out of the socket is the only copy.
 *
 * <ul>
 *   <li>Inside a DATA frame's payload (the decoder holds no unread bytes then) the read buffer is a wrapper over the
 *       destination block at the next expected offset, limited to the frame's remaining payload. The
 *       {@link ServerHandler} hands it out only for the range it would copy into anyway ({@code offset ==} bytes
 *       already in that block, within {@code block_bytes}), so a sender can never make the receiver write anywhere
 *       else. The wrapper does not own the memory: releasing it frees nothing.
 *   <li>Otherwise a pooled buffer sized to the rest of the frame prefix or control frame ({@link FrameDecoder#bytesWanted}),
 *       at most 64 KiB, so a read never runs into the next frame's payload and forces it through a copy.
 * </ul>
 *
 * <p>One instance per channel (it knows that channel's decoder and handler); not for TLS channels, where the socket
 * carries ciphertext. Runs on the channel's event loop only.
 */
public final class LandingRecvAllocator extends DefaultMaxMessagesRecvByteBufAllocator {
  private static final int MAX_CONTROL_READ = 64 << 10;

  private final FrameDecoder decoder;
  private final ServerHandler handler;

  public LandingRecvAllocator(FrameDecoder decoder, ServerHandler handler) {
    super(64);
    this.decoder = decoder;
    this.handler = handler;
  }

  @Override
  public Handle newHandle() {
    return new MaxMessageHandle() {
      @Override
      public ByteBuf allocate(ByteBufAllocator alloc) {
        if (decoder.inPayload()) {
          ByteBuf landing = handler.landing(decoder.payloadBlock(), decoder.payloadOffset(),
              decoder.payloadRemaining());
          if (landing != null) {
            return landing;
          }
        }
        return alloc.ioBuffer(guess());
      }

      @Override
      public int guess() {
        return Math.max(1, Math.min(decoder.bytesWanted(), MAX_CONTROL_READ));
      }
    };
  }
}
