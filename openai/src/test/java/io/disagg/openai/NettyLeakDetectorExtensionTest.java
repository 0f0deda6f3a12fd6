package io.disagg.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The leak guard itself must be able to fail, or every "no leak" verdict is worthless. */
class NettyLeakDetectorExtensionTest {
  @Test
  void drain_bufferDroppedWithoutRelease_isReported() {
    leakOne();
    assertThat(NettyLeakDetectorExtension.drain(100)).anySatisfy(report -> assertThat(report).startsWith("LEAK"));
  }

  private static void leakOne() {
    ByteBuf leaked = UnpooledByteBufAllocator.DEFAULT.directBuffer(16);
    leaked.writeInt(1);
  }
}
