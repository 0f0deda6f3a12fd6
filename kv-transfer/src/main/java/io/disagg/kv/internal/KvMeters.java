package io.disagg.kv.internal;

import io.disagg.kv.KvTransferException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Micrometer meters of one side ({@code send} or {@code receive}) of the transport, tagged by transport
 * ({@code tcp}/{@code uds}). Meters are looked up once here so the hot path only increments.
 */
public final class KvMeters {
  public static final String PREFIX = "disagg.kv.transfer";

  private final MeterRegistry registry;
  private final String side;
  private final Map<String, PerTransport> byTransport = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong blocksReserved = new AtomicLong();

  public KvMeters(MeterRegistry registry, String side) {
    this.registry = registry;
    this.side = side;
    if ("receive".equals(side)) {
      Gauge.builder(PREFIX + ".blocks.reserved", blocksReserved, AtomicLong::get)
          .description("KV blocks held by transfers in flight")
          .register(registry);
    }
  }

  public void started(String transport) {
    of(transport).started.increment();
  }

  public void completed(String transport, long bytes, long nanos) {
    PerTransport m = of(transport);
    m.completed.increment();
    m.bytes.increment(bytes);
    m.duration.record(nanos, TimeUnit.NANOSECONDS);
    if (nanos > 0) {
      m.throughput.record(bytes * 1e9 / nanos);
    }
  }

  public void failed(String transport, KvTransferException.Reason reason, long bytesMoved) {
    PerTransport m = of(transport);
    m.failed.get(reason).increment();
    m.bytes.increment(bytesMoved);
  }

  public void blocksReserved(long delta) {
    blocksReserved.addAndGet(delta);
  }

  private PerTransport of(String transport) {
    PerTransport m = byTransport.get(transport);
    // get first: computeIfAbsent's method reference would allocate on every transfer.
    return m != null ? m : byTransport.computeIfAbsent(transport, PerTransport::new);
  }

  private final class PerTransport {
    final Counter started;
    final Counter completed;
    final Counter bytes;
    final Timer duration;
    final DistributionSummary throughput;
    final Map<KvTransferException.Reason, Counter> failed = new EnumMap<>(KvTransferException.Reason.class);

    PerTransport(String transport) {
      started = Counter.builder(PREFIX + ".started").tag("side", side).tag("transport", transport)
          .description("KV transfers started").register(registry);
      completed = Counter.builder(PREFIX + ".completed").tag("side", side).tag("transport", transport)
          .description("KV transfers completed and verified").register(registry);
      bytes = Counter.builder(PREFIX + ".bytes").tag("side", side).tag("transport", transport)
          .baseUnit("bytes").description("KV payload bytes moved").register(registry);
      duration = Timer.builder(PREFIX + ".duration").tag("side", side).tag("transport", transport)
          .description("Time of completed KV transfers").register(registry);
      throughput = DistributionSummary.builder(PREFIX + ".throughput").tag("side", side).tag("transport", transport)
          .baseUnit("bytes/s").description("Payload throughput of completed KV transfers").register(registry);
      for (KvTransferException.Reason r : KvTransferException.Reason.values()) {
        failed.put(r, Counter.builder(PREFIX + ".failed").tag("side", side).tag("transport", transport)
            .tag("reason", r.name()).description("KV transfers failed, by reason").register(registry));
      }
    }
  }
}
