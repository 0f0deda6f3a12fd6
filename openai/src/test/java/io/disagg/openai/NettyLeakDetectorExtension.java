package io.disagg.openai;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails any test during which Netty reported a leaked buffer. Registered for every test through the ServiceLoader
 * (see {@code junit-platform.properties}), so its factory is in place before the first {@code ByteBuf} class
 * initialises its static detector; surefire runs with {@code -Dio.netty.leakDetection.level=paranoid}.
 *
 * <p>Leak reports come from GC'd but unreleased buffers, noticed when the next buffer is tracked; after each test this
 * collects garbage and allocates a few buffers so that reports surface in the test that caused them.
 */
public final class NettyLeakDetectorExtension implements AfterEachCallback {
  private static final ConcurrentLinkedQueue<String> LEAKS = new ConcurrentLinkedQueue<>();

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
  }

  @Override
  public void afterEach(ExtensionContext context) {
    List<String> leaks = drain();
    if (!leaks.isEmpty()) {
      throw new AssertionError("Netty reported " + leaks.size() + " leak(s) during "
          + context.getDisplayName() + ":\n" + String.join("\n\n", leaks));
    }
  }

  /** Collects garbage, provokes the detectors to report, and returns (and forgets) every leak reported so far. */
  public static List<String> drain() {
    return drain(3);
  }

  /**
   * As {@link #drain()}, with up to {@code rounds} collections; stops early once something was reported (the
   * reference handler enqueues collected buffers asynchronously, so one round may not be enough).
   */
  public static List<String> drain(int rounds) {
    for (int i = 0; i < rounds && (i < 3 || LEAKS.isEmpty()); i++) {
      System.gc();
      ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(8);
      ByteBuf b = UnpooledByteBufAllocator.DEFAULT.heapBuffer(8);
      a.release();
      b.release();
    }
    List<String> out = new ArrayList<>();
    String leak;
    while ((leak = LEAKS.poll()) != null) {
      out.add(leak);
    }
    return out;
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
                                                               long maxActive) {
      return new RecordingDetector<>(resource, samplingInterval);
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected boolean needReport() {
      return true;
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      LEAKS.add("LEAK: " + resourceType + records);
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      LEAKS.add("LEAK: " + resourceType + " (untraced)");
      super.reportUntracedLeak(resourceType);
    }
  }
}
