package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class WorkerMetricsTest {
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final KvBlockPool pool = KvBlockPools.offHeap(new KvLayout(1, 1, 4, KvDtype.F32, 16), 10);
  private final AtomicInteger reserved = new AtomicInteger();
  private final WorkerMetrics metrics = new WorkerMetrics(registry, "decode", "w1",
      new WorkerMetrics.Gauges(() -> 3, () -> 5, () -> 4, pool, reserved::get));

  @AfterEach
  void tearDown() {
    metrics.close();
    pool.close();
  }

  private double counter(String name, String... tags) {
    return registry.get("disagg.worker." + name).tags("worker", "w1", "role", "decode").tags(tags).counter().count();
  }

  private double gauge(String name, String... tags) {
    return registry.get("disagg.worker." + name).tags(tags).gauge().value();
  }

  @Test
  void requestEnded_classifiesOkCancelledAndErrorsByCode() {
    metrics.requestEnded(Status.OK, false);
    metrics.requestEnded(Status.CANCELLED, false);
    metrics.requestEnded(Status.UNAVAILABLE, true);
    metrics.requestEnded(Status.RESOURCE_EXHAUSTED, false);

    assertThat(counter("requests", "outcome", "ok")).isEqualTo(1);
    assertThat(counter("requests", "outcome", "cancelled")).isEqualTo(2);
    assertThat(counter("requests", "outcome", "error")).isEqualTo(1);
    assertThat(counter("errors", "code", "RESOURCE_EXHAUSTED")).isEqualTo(1);
    assertThat(counter("errors", "code", "UNAVAILABLE")).isZero();
  }

  @Test
  void kvBlocks_reservedAreApartFromUsedAndFree() {
    KvReservation held = pool.reserve(3);
    reserved.set(2);

    assertThat(gauge("kv.blocks", "state", "free")).isEqualTo(7);
    assertThat(gauge("kv.blocks", "state", "reserved")).isEqualTo(2);
    assertThat(gauge("kv.blocks", "state", "used")).isEqualTo(1);
    held.close();
  }

  @Test
  void gauges_readTheirSuppliersAtScrapeTime() {
    assertThat(gauge("queue.depth")).isEqualTo(3);
    assertThat(gauge("tokens.in.flight")).isEqualTo(5);
    assertThat(gauge("running.sequences")).isEqualTo(4);
  }

  @Test
  void batches_countTokensByPhaseAndPrefixCacheHitRatio() {
    assertThat(gauge("prefix.cache.hit.ratio")).isZero();

    metrics.prefillBatch(2, 100, 25, Duration.ofMillis(30));
    metrics.decodeStep(4, Duration.ofMillis(3));
    metrics.decodeStep(3, Duration.ofMillis(2));

    assertThat(counter("tokens", "phase", "prefill")).isEqualTo(100);
    assertThat(counter("tokens", "phase", "decode")).isEqualTo(7);
    assertThat(gauge("prefix.cache.hit.ratio")).isEqualTo(0.25);
    assertThat(registry.get("disagg.worker.batch.size").tags("phase", "decode").summary().totalAmount()).isEqualTo(7);
    assertThat(registry.get("disagg.worker.batch.tokens").summary().totalAmount()).isEqualTo(100);
    assertThat(registry.get("disagg.worker.step").tags("phase", "prefill").timer().totalTime(
        java.util.concurrent.TimeUnit.MILLISECONDS)).isEqualTo(30);
  }

  @Test
  void close_removesEveryMeterItRegistered() {
    metrics.close();

    assertThat(registry.getMeters()).isEmpty();
  }
}
