package io.disagg.kv.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test when Netty's leak detector reports a leaked buffer. Netty only logs leaks, so this installs a
 * {@link ResourceLeakDetectorFactory} whose detectors record every report, forces the detector to PARANOID, and after
 * each test runs the garbage collector until a sentinel weak reference is enqueued (so leaked buffers' references
 * are too), allocates a few buffers to make the detectors drain their queues, and fails on anything recorded.
 *
 * <p>The factory must be in place before Netty's buffer classes initialise their static detectors, so this class
 * installs it in its static initialiser and is also registered for JUnit auto-detection
 * ({@code META-INF/services/org.junit.jupiter.api.extension.Extension} plus
 * {@code junit.jupiter.extensions.autodetection.enabled=true}), which loads it before any test. Copy both files to
 * use it in another module; annotate test classes with {@code @ExtendWith(NettyLeakExtension.class)} for clarity.
 */
public final class NettyLeakExtension implements BeforeEachCallback, AfterEachCallback {
  private static final List<String> LEAKS = new ArrayList<>();

  static {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
  }

  @Override
  public void beforeEach(ExtensionContext context) {
    drain();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    List<String> found = drain();
    if (!found.isEmpty()) {
      throw new AssertionError(found.size() + " Netty leak(s) in " + context.getDisplayName() + ":\n"
          + String.join("\n---\n", found));
    }
  }

  /** Collects garbage, makes every detector poll its queue, and returns (and forgets) what was reported. */
  public static List<String> drain() {
    for (int round = 0; round < 3; round++) {
      ReferenceQueue<Object> queue = new ReferenceQueue<>();
      WeakReference<Object> sentinel = new WeakReference<>(new Object(), queue);
      System.gc();
      try {
        // Enqueuing happens on the reference-handler thread; once the sentinel is there, earlier garbage is too.
        if (queue.remove(2_000) == null) {
          continue;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      } finally {
        sentinel.clear();
      }
      // Each allocation under PARANOID tracks, and tracking first reports whatever was enqueued.
      ByteBuf a = PooledByteBufAllocator.DEFAULT.directBuffer(16);
      ByteBuf b = PooledByteBufAllocator.DEFAULT.heapBuffer(16);
      ByteBuf c = Unpooled.directBuffer(16);
      a.release();
      b.release();
      c.release();
    }
    synchronized (LEAKS) {
      List<String> copy = List.copyOf(LEAKS);
      LEAKS.clear();
      return copy;
    }
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval,
        long maxActive) {
      return new RecordingDetector<>(resource, samplingInterval);
    }

    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(Class<T> resource, int samplingInterval) {
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
      synchronized (LEAKS) {
        LEAKS.add("LEAK " + resourceType + records);
      }
      super.reportTracedLeak(resourceType, records);
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      synchronized (LEAKS) {
        LEAKS.add("LEAK " + resourceType + " (untraced)");
      }
      super.reportUntracedLeak(resourceType);
    }
  }
}
