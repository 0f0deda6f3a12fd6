package io.disagg.kv.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NettyLeakExtension.class)
class NettyLeakExtensionTest {

  @Test
  void drain_unreleasedBuffer_isReported() {
    leakOne();
    assertThat(NettyLeakExtension.drain()).anySatisfy(report -> assertThat(report).contains("LEAK"));
  }

  @Test
  void drain_releasedBuffer_reportsNothing() {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(128);
    buf.writeLong(42);
    buf.release();
    assertThat(NettyLeakExtension.drain()).isEmpty();
  }

  private static void leakOne() {
    ByteBuf buf = PooledByteBufAllocator.DEFAULT.directBuffer(128);
    buf.writeLong(7);
  }
}
