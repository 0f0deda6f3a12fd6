package io.disagg.router.internal;

import io.disagg.router.CostStats;
import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The router's measurements behind {@link CostStats}: exponentially weighted moving averages (EWMA) per KV path and
 * per worker, fed by every finished prefill (prefill time, transfer bytes and time) and every colocated decode
 * (prefill time on the decode worker). Averages by sample, not by time, so no clock is involved; a path that carries
 * no traffic keeps its last estimate. Bandwidth is averaged as its inverse (seconds per byte), because that is what
 * predicts a transfer's time: averaging rates would let one fast sample hide a slow one. Thread-safe.
 */
public final class CostTracker implements CostStats {
  /** Weight of the newest sample: 0.2 follows a real change within about ten requests and smooths one-off outliers. */
  public static final double DEFAULT_ALPHA = 0.2;

  private final double alpha;
  private final double bandwidthPrior;
  private final double prefillSecondsPerTokenPrior;
  private final Map<Path, Ewma> secondsPerByte = new ConcurrentHashMap<>();
  private final Map<Path, Ewma> bytesPerToken = new ConcurrentHashMap<>();
  private final Map<String, Ewma> prefillCost = new ConcurrentHashMap<>();

  /** A KV path between a prefill and a decode worker, by their ids. */
  public record Path(String prefill, String decode) {}

  public CostTracker(double alpha, double bandwidthPrior, double prefillTokensPerSecondPrior) {
    if (!(alpha > 0 && alpha <= 1)) {
      throw new IllegalArgumentException("alpha: %s (expected: in (0, 1])".formatted(alpha));
    }
    if (!(bandwidthPrior > 0)) {
      throw new IllegalArgumentException("kvBandwidthPrior: %s (expected: > 0)".formatted(bandwidthPrior));
    }
    if (!(prefillTokensPerSecondPrior > 0)) {
      throw new IllegalArgumentException(
          "prefillTokensPerSecondPrior: %s (expected: > 0)".formatted(prefillTokensPerSecondPrior));
    }
    this.alpha = alpha;
    this.bandwidthPrior = bandwidthPrior;
    this.prefillSecondsPerTokenPrior = 1.0 / prefillTokensPerSecondPrior;
  }

  /**
   * Records a finished KV transfer. Ignored when the worker reported no bytes or no time (it did not measure, or the
   * prompt was fully cached there).
   */
  public void recordTransfer(String prefill, String decode, long bytes, long micros, int promptTokens) {
    if (bytes <= 0 || micros <= 0) {
      return;
    }
    Path path = new Path(prefill, decode);
    secondsPerByte.computeIfAbsent(path, p -> new Ewma(alpha)).add(micros / 1e6 / bytes);
    if (promptTokens > 0) {
      bytesPerToken.computeIfAbsent(path, p -> new Ewma(alpha)).add((double) bytes / promptTokens);
    }
  }

  /** Records a prefill of {@code tokens} uncached tokens on {@code worker} that took {@code micros}. */
  public void recordPrefill(String worker, WorkerRole role, int tokens, long micros) {
    if (tokens <= 0 || micros <= 0) {
      return;
    }
    prefillCost.computeIfAbsent(key(worker, role), k -> new Ewma(alpha)).add(micros / 1e6 / tokens);
  }

  /** The measured bandwidth of a path, empty until a transfer on it was recorded. */
  public OptionalDouble measuredBandwidth(String prefill, String decode) {
    Ewma e = secondsPerByte.get(new Path(prefill, decode));
    return e == null ? OptionalDouble.empty() : OptionalDouble.of(1.0 / e.value());
  }

  /** Every path measured so far. */
  public java.util.Set<Path> measuredPaths() {
    return java.util.Set.copyOf(secondsPerByte.keySet());
  }

  @Override
  public double kvBandwidthBytesPerSecond(WorkerSnapshot prefill, WorkerSnapshot decode) {
    return measuredBandwidth(prefill.id(), decode.id()).orElse(bandwidthPrior);
  }

  @Override
  public double kvBytesPerToken(WorkerSnapshot prefill, WorkerSnapshot decode) {
    if (decode.kvBytesPerToken() > 0) {
      return decode.kvBytesPerToken();
    }
    if (prefill.kvBytesPerToken() > 0) {
      return prefill.kvBytesPerToken();
    }
    Ewma measured = bytesPerToken.get(new Path(prefill.id(), decode.id()));
    return measured == null ? 0 : measured.value();
  }

  @Override
  public double prefillSecondsPerToken(WorkerSnapshot worker) {
    Ewma measured = prefillCost.get(key(worker.id(), worker.role()));
    if (measured != null) {
      return measured.value();
    }
    // A prefill worker's recent throughput is prompt tokens; a decode worker's is generated tokens, which says
    // nothing about its prefill speed.
    if (worker.role() == WorkerRole.PREFILL && worker.recentTokensPerSecond() > 0) {
      return 1.0 / worker.recentTokensPerSecond();
    }
    return prefillSecondsPerTokenPrior;
  }

  private static String key(String worker, WorkerRole role) {
    return role + "/" + worker;
  }

  /** An EWMA seeded by its first sample (no bias toward zero). */
  private static final class Ewma {
    private final double alpha;
    private double value = Double.NaN; // guarded by this

    Ewma(double alpha) {
      this.alpha = alpha;
    }

    synchronized void add(double sample) {
      value = Double.isNaN(value) ? sample : value + alpha * (sample - value);
    }

    synchronized double value() {
      return value;
    }
  }
}
