package io.disagg.loadtest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.disagg.loadtest.Goodput;
import io.disagg.loadtest.LatencySummary;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatisticsTest {

    private static final long MS = 1_000_000L;

    /** A successful request: sent at 0, first token at ttft ms, done at e2e ms, n output tokens. */
    private static RequestRecord ok(double ttftMs, double e2eMs, int out) {
        return new RequestRecord(0, false, 0, (long) (ttftMs * MS), (long) (e2eMs * MS), 10, 0, out, new long[0], null);
    }

    @Test
    void percentile_interpolatesBetweenNearestRanks() {
        double[] v = {1, 2, 3, 4};
        // rank = p/100 * (n-1): p50 -> 1.5 -> 2.5; p90 -> 2.7 -> 3.7; p99 -> 2.97 -> 3.97
        assertThat(Statistics.percentile(v, 50)).isEqualTo(2.5);
        assertThat(Statistics.percentile(v, 90)).isCloseTo(3.7, within(1e-12));
        assertThat(Statistics.percentile(v, 99)).isCloseTo(3.97, within(1e-12));
        assertThat(Statistics.percentile(v, 0)).isEqualTo(1);
        assertThat(Statistics.percentile(v, 100)).isEqualTo(4);
        assertThat(Statistics.percentile(new double[] {7}, 99)).isEqualTo(7);
        assertThat(Statistics.percentile(new double[0], 50)).isNaN();
        assertThatThrownBy(() -> Statistics.percentile(v, 101)).hasMessage("p: 101.0 (expected: 0..100)");
    }

    @Test
    void summarize_tenValues_matchesHandComputation() {
        // 10..100 shuffled; p50 rank 4.5 -> 55; p90 rank 8.1 -> 91; p99 rank 8.91 -> 99.1
        LatencySummary s = Statistics.summarize(new double[] {30, 100, 10, 60, 20, 90, 50, 80, 40, 70});

        assertThat(s.count()).isEqualTo(10);
        assertThat(s.mean()).isEqualTo(55);
        assertThat(s.p50()).isEqualTo(55);
        assertThat(s.p90()).isCloseTo(91, within(1e-9));
        assertThat(s.p99()).isCloseTo(99.1, within(1e-9));
        assertThat(s.max()).isEqualTo(100);
    }

    @Test
    void tpot_excludesFirstTokenAndIsUndefinedForOneToken() {
        // 100 ms to first token, 5 tokens by 500 ms: (500 - 100) / (5 - 1) = 100 ms per output token
        assertThat(ok(100, 500, 5).tpotMs()).isEqualTo(100);
        assertThat(ok(100, 100, 1).tpotMs()).isNaN();
    }

    @Test
    void attainment_countsFailuresAsMissesAndSingleTokenAsMeetingTpot() {
        var records = List.of(
                ok(100, 500, 5),    // ttft ok, tpot 100 ok
                ok(300, 700, 5),    // ttft miss, tpot 100 ok
                ok(100, 900, 5),    // ttft ok, tpot 200 miss
                ok(150, 150, 1),    // ttft ok, no tpot -> ok
                new RequestRecord(4, false, 0, -1, 50 * MS, 0, 0, 0, new long[0], "UNAVAILABLE"));

        var a = Statistics.attainment(records, 200, 150);

        assertThat(a.ttft()).isEqualTo(3.0 / 5);
        assertThat(a.tpot()).isEqualTo(3.0 / 5);
        assertThat(a.both()).isEqualTo(2.0 / 5);
    }

    @Test
    void goodput_sweep_findsHighestRateMeetingNinetyPercent() {
        Goodput g = Statistics.goodput(new double[] {1, 2, 4, 8}, new double[] {1.0, 0.95, 0.9, 0.6}, 0.9);

        assertThat(g.requestsPerSecond()).isEqualTo(4);
        assertThat(g.bracketedBy()).isEqualTo(8);
        assertThat(g.attainmentTarget()).isEqualTo(0.9);
    }

    @Test
    void goodput_stopsAtFirstMissEvenIfAHigherRatePassesByLuck() {
        Goodput g = Statistics.goodput(new double[] {8, 1, 4, 2}, new double[] {0.95, 0.99, 0.91, 0.85}, 0.9);

        assertThat(g.requestsPerSecond()).isEqualTo(1);
        assertThat(g.bracketedBy()).isEqualTo(2);
    }

    @Test
    void goodput_noRateMeetsTarget_isZero_allMeet_isLowerBound() {
        assertThat(Statistics.goodput(new double[] {1, 2}, new double[] {0.5, 0.1}, 0.9))
                .isEqualTo(new Goodput(0, 0.9, 1));
        assertThat(Statistics.goodput(new double[] {1, 2}, new double[] {1, 1}, 0.9))
                .isEqualTo(new Goodput(2, 0.9, 0));
    }

    @Test
    void result_throughputAndItl_fromRecords() {
        var records = List.of(
                new RequestRecord(0, true, 0, 10 * MS, 20 * MS, 99, 0, 9, new long[] {MS}, null),  // warm-up: ignored
                new RequestRecord(1, false, 1000 * MS, 1100 * MS, 1300 * MS, 40, 0, 3,
                        new long[] {100 * MS, 100 * MS}, null),
                new RequestRecord(2, false, 1500 * MS, 1600 * MS, 3000 * MS, 60, 0, 5,
                        new long[] {200 * MS, 400 * MS, 800 * MS}, null),
                new RequestRecord(3, false, 2000 * MS, -1, 2100 * MS, 0, 0, 0, new long[0], "DEADLINE_EXCEEDED"));

        var r = Statistics.result("rate 1/s", 1, 0, records, 1000, 1000);

        // measured span: first send 1.0 s to last end 3.0 s = 2 s
        assertThat(r.durationSeconds()).isEqualTo(2.0);
        assertThat(r.requests()).isEqualTo(3);
        assertThat(r.succeeded()).isEqualTo(2);
        assertThat(r.errors()).containsExactly(java.util.Map.entry("DEADLINE_EXCEEDED", 1));
        assertThat(r.requestThroughput()).isEqualTo(1.0);
        assertThat(r.inputTokenThroughput()).isEqualTo(50.0);
        assertThat(r.outputTokenThroughput()).isEqualTo(4.0);
        assertThat(r.ttft().p50()).isEqualTo(100);
        // TPOT: (1300-1100)/2 = 100, (3000-1600)/4 = 350
        assertThat(r.tpot().mean()).isEqualTo(225);
        // ITL samples 100, 100, 200, 400, 800 -> median 200
        assertThat(r.itl().count()).isEqualTo(5);
        assertThat(r.itl().p50()).isEqualTo(200);
        assertThat(r.slo().both()).isEqualTo(2.0 / 3);
    }

    /** A completed, measured request with {@code prompt} prompt tokens of which {@code cached} were cached. */
    private static RequestRecord cached(int prompt, int cached) {
        return new RequestRecord(0, false, 0, 10 * MS, 20 * MS, prompt, cached, 2, new long[] {MS}, null);
    }

    @Test
    void result_prefixCacheHitRatio_isCachedOverPromptTokensOfMeasuredCompletedRequests() {
        var records = List.of(
                new RequestRecord(0, true, 0, 10 * MS, 20 * MS, 1000, 1000, 2, new long[] {MS}, null),  // warm-up
                cached(80, 0),
                cached(80, 64),
                cached(240, 224),
                new RequestRecord(4, false, 0, -1, 50 * MS, 500, 500, 0, new long[0], "UNAVAILABLE"));

        var r = Statistics.result("2 users", 0, 2, records, 1000, 1000);

        // (0 + 64 + 224) / (80 + 80 + 240): long prompts weigh more than a mean of per-request ratios would let them
        assertThat(r.prefixCacheHitRatio()).isEqualTo(288.0 / 400);
        assertThat(r.meanCachedPromptTokens()).isEqualTo(96);
        assertThat(Orchestrator.summaryLine(r)).contains("TTFT p50 10.0 p99 10.0 prefix hit 72.0% |");
    }

    @Test
    void result_noCachedTokensReported_isZeroHitRatio_noPromptTokens_isUndefined() {
        assertThat(Statistics.result("1 users", 0, 1, List.of(cached(80, 0)), 1000, 1000).prefixCacheHitRatio())
                .isZero();
        var none = Statistics.result("1 users", 0, 1, List.of(cached(0, 0)), 1000, 1000);
        assertThat(none.prefixCacheHitRatio()).isNaN();
        assertThat(Orchestrator.summaryLine(none)).contains("prefix hit - |");
    }

    @Test
    void cdfPoints_downsamplesToFixedCountKeepingExtremes() {
        double[] many = new double[1001];
        for (int i = 0; i < many.length; i++) {
            many[i] = many.length - i;
        }

        double[] cdf = Statistics.cdfPoints(many);

        assertThat(cdf).hasSize(Statistics.CDF_POINTS);
        assertThat(cdf[0]).isEqualTo(1);
        assertThat(cdf[cdf.length - 1]).isEqualTo(1001);
        assertThat(cdf).isSorted();
    }
}
