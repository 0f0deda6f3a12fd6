package io.disagg.kv.internal;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * Payload bytes for one block at an offset. Outbound, the content wraps the sender's off-heap KV memory; inbound it
 * is a slice of the socket read buffer (a DATA frame may arrive as several of these, each with its own offset).
 * Whoever receives a {@code DataFrame} releases it, normally in {@code finally}.
 */
public final class DataFrame extends DefaultByteBufHolder {
  private final int block;
  private final long offset;

  /**
   * @param content payload; ownership passes to the new frame, released when the frame is
   */
  public DataFrame(int block, long offset, ByteBuf content) {
    super(content);
    this.block = block;
    this.offset = offset;
  }

  /** Block index within the transfer. */
  public int block() {
    return block;
  }

  /** Byte offset of the content's first byte within the block. */
  public long offset() {
    return offset;
  }

  @Override
  public DataFrame replace(ByteBuf content) {
    return new DataFrame(block, offset, content);
  }

  @Override
  public DataFrame retain() {
    super.retain();
    return this;
  }

  @Override
  public DataFrame touch(Object hint) {
    super.touch(hint);
    return this;
  }

  @Override
  public String toString() {
    return "DataFrame[block=" + block + ", offset=" + offset + ", bytes=" + content().readableBytes() + "]";
  }
}
