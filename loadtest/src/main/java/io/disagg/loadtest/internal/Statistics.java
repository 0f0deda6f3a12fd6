package io.disagg.loadtest.internal;

import io.disagg.loadtest.Goodput;
import io.disagg.loadtest.LatencySummary;
import io.disagg.loadtest.RunResult;
import io.disagg.loadtest.SloAttainment;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The arithmetic of the report: percentiles, SLO attainment, throughput and goodput. */
public final class Statistics {

    /** Points kept per CDF in the report; enough for a smooth curve, small enough for a readable JSON. */
    static final int CDF_POINTS = 200;

    private Statistics() {
    }

    /**
     * The {@code p}-th percentile of sorted {@code values}, interpolating linearly between the two nearest ranks:
     * rank {@code p/100 * (n-1)}.
     */
    public static double percentile(double[] sorted, double p) {
        if (!(p >= 0 && p <= 100)) {
            throw new IllegalArgumentException("p: %s (expected: 0..100)".formatted(p));
        }
        if (sorted.length == 0) {
            return Double.NaN;
        }
        double rank = p / 100.0 * (sorted.length - 1);
        int lo = (int) Math.floor(rank);
        int hi = (int) Math.ceil(rank);
        return sorted[lo] + (rank - lo) * (sorted[hi] - sorted[lo]);
    }

    public static LatencySummary summarize(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        if (sorted.length == 0) {
            return LatencySummary.EMPTY;
        }
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        return new LatencySummary(sorted.length, sum / sorted.length, percentile(sorted, 50), percentile(sorted, 90),
                percentile(sorted, 99), sorted[sorted.length - 1]);
    }

    /**
     * Attainment over {@code records}: failures count as misses, a request without a TPOT (one output token) meets
     * the TPOT target.
     */
    public static SloAttainment attainment(List<RequestRecord> records, double ttftMs, double tpotMs) {
        if (records.isEmpty()) {
            return new SloAttainment(ttftMs, tpotMs, Double.NaN, Double.NaN, Double.NaN);
        }
        int ttftOk = 0;
        int tpotOk = 0;
        int both = 0;
        for (RequestRecord r : records) {
            if (!r.succeeded()) {
                continue;
            }
            boolean t1 = r.firstTokenNanos() >= 0 && r.ttftMs() <= ttftMs;
            double tpot = r.tpotMs();
            boolean t2 = Double.isNaN(tpot) || tpot <= tpotMs;
            ttftOk += t1 ? 1 : 0;
            tpotOk += t2 ? 1 : 0;
            both += t1 && t2 ? 1 : 0;
        }
        double n = records.size();
        return new SloAttainment(ttftMs, tpotMs, ttftOk / n, tpotOk / n, both / n);
    }

    /**
     * Goodput from a rate sweep: the highest rate such that it and every lower rate tried met
     * {@code target}. Stopping at the first miss keeps one lucky high-rate run from overstating capacity.
     *
     * @param rates offered rates, any order
     * @param attainments attainment (both SLOs) at the same index
     */
    public static Goodput goodput(double[] rates, double[] attainments, double target) {
        if (rates.length != attainments.length) {
            throw new IllegalArgumentException("rates: %d, attainments: %d (expected: same length)"
                    .formatted(rates.length, attainments.length));
        }
        var byRate = new TreeMap<Double, Double>();
        for (int i = 0; i < rates.length; i++) {
            byRate.merge(rates[i], attainments[i], Math::min);
        }
        double best = 0;
        double firstMiss = 0;
        for (var e : byRate.entrySet()) {
            if (e.getValue() >= target) {
                best = e.getKey();
            } else {
                firstMiss = e.getKey();
                break;
            }
        }
        return new Goodput(best, target, firstMiss);
    }

    /** Summarizes the measured (non-warm-up) records of one load level. */
    public static RunResult result(String label, double offeredRate, int users, List<RequestRecord> all,
                                   double sloTtftMs, double sloTpotMs) {
        List<RequestRecord> measured = all.stream().filter(r -> !r.warmup()).toList();
        List<RequestRecord> ok = measured.stream().filter(RequestRecord::succeeded).toList();
        Map<String, Integer> errors = new TreeMap<>();
        measured.stream().filter(r -> !r.succeeded()).forEach(r -> errors.merge(r.error(), 1, Integer::sum));

        double[] ttft = ok.stream().filter(r -> r.firstTokenNanos() >= 0).mapToDouble(RequestRecord::ttftMs).toArray();
        double[] tpot = ok.stream().mapToDouble(RequestRecord::tpotMs).filter(v -> !Double.isNaN(v)).toArray();
        double[] e2e = ok.stream().mapToDouble(RequestRecord::e2eMs).toArray();
        double[] itl = ok.stream().flatMapToLong(r -> Arrays.stream(r.itlNanos())).mapToDouble(n -> n / 1e6).toArray();

        long first = measured.stream().mapToLong(RequestRecord::sendNanos).min().orElse(0);
        long last = measured.stream().mapToLong(RequestRecord::endNanos).max().orElse(0);
        double seconds = (last - first) / 1e9;
        long inTokens = ok.stream().mapToLong(RequestRecord::promptTokens).sum();
        long outTokens = ok.stream().mapToLong(RequestRecord::outputTokens).sum();
        long cachedTokens = ok.stream().mapToLong(RequestRecord::cachedPromptTokens).sum();

        var cdfs = new LinkedHashMap<String, double[]>();
        cdfs.put("ttft", cdfPoints(ttft));
        cdfs.put("tpot", cdfPoints(tpot));
        cdfs.put("itl", cdfPoints(itl));
        cdfs.put("e2e", cdfPoints(e2e));
        return new RunResult(label, offeredRate, users, seconds, measured.size(), ok.size(), errors,
                rate(ok.size(), seconds), rate(inTokens, seconds), rate(outTokens, seconds),
                ok.isEmpty() ? 0 : (double) inTokens / ok.size(), ok.isEmpty() ? 0 : (double) outTokens / ok.size(),
                ok.isEmpty() ? 0 : (double) cachedTokens / ok.size(), hitRatio(cachedTokens, inTokens),
                summarize(ttft), summarize(tpot), summarize(itl), summarize(e2e),
                attainment(measured, sloTtftMs, sloTpotMs), cdfs);
    }

    /** Cached over all prompt tokens; {@code NaN} when there were no prompt tokens to hit. */
    static double hitRatio(long cachedPromptTokens, long promptTokens) {
        return promptTokens > 0 ? (double) cachedPromptTokens / promptTokens : Double.NaN;
    }

    private static double rate(double count, double seconds) {
        return seconds > 0 ? count / seconds : 0;
    }

    /**
     * At most {@link #CDF_POINTS} sorted samples, evenly spaced in rank, always including the minimum and maximum;
     * point {@code i} of {@code m} sits at cumulative fraction {@code (i + 1) / m}.
     */
    static double[] cdfPoints(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        if (sorted.length <= CDF_POINTS) {
            return sorted;
        }
        double[] out = new double[CDF_POINTS];
        for (int i = 0; i < CDF_POINTS; i++) {
            out[i] = percentile(sorted, 100.0 * i / (CDF_POINTS - 1));
        }
        return out;
    }
}
