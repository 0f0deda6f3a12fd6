package io.disagg.loadtest;

/**
 * Distribution of one latency metric over the measured requests, in milliseconds. Percentiles interpolate linearly
 * between the two nearest ranks (NumPy's default, which vLLM's and DistServe's benchmarks use).
 *
 * @param count samples
 * @param mean arithmetic mean
 * @param p50 median
 * @param p90 90th percentile
 * @param p99 99th percentile
 * @param max largest sample
 */
public record LatencySummary(int count, double mean, double p50, double p90, double p99, double max) {

    public static final LatencySummary EMPTY = new LatencySummary(0, Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN);
}
