package io.disagg.loadtest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ArrivalProcessTest {

    private static double[] meanAndCv(ArrivalProcess p, int n) {
        var random = new SplittableRandom(42);
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < n; i++) {
            double g = p.nextGapSeconds(random);
            assertThat(g).isGreaterThanOrEqualTo(0);
            sum += g;
            sumSq += g * g;
        }
        double mean = sum / n;
        double sd = Math.sqrt(sumSq / n - mean * mean);
        return new double[] {mean, sd / mean};
    }

    @Test
    void poisson_gapsHaveMeanOneOverRateAndUnitCv() {
        double[] m = meanAndCv(ArrivalProcess.poisson(4), 50_000);

        assertThat(m[0]).isCloseTo(0.25, within(0.005));
        assertThat(m[1]).isCloseTo(1.0, within(0.03));
    }

    @Test
    void gamma_burstinessSetsCvToOneOverSqrtShape() {
        double[] bursty = meanAndCv(ArrivalProcess.gamma(2, 0.25), 50_000);
        double[] smooth = meanAndCv(ArrivalProcess.gamma(2, 4), 50_000);

        assertThat(bursty[0]).isCloseTo(0.5, within(0.02));
        assertThat(bursty[1]).isCloseTo(2.0, within(0.1));
        assertThat(smooth[0]).isCloseTo(0.5, within(0.01));
        assertThat(smooth[1]).isCloseTo(0.5, within(0.02));
    }

    @Test
    void sameSeed_sameArrivals() {
        var a = new SplittableRandom(7);
        var b = new SplittableRandom(7);
        var p = ArrivalProcess.gamma(3, 0.5);
        for (int i = 0; i < 100; i++) {
            assertThat(p.nextGapSeconds(a)).isEqualTo(p.nextGapSeconds(b));
        }
    }

    @Test
    void invalidParameters_failFast() {
        assertThatThrownBy(() -> ArrivalProcess.poisson(0)).hasMessage("rate: 0.0 (expected: > 0)");
        assertThatThrownBy(() -> ArrivalProcess.gamma(1, -1)).hasMessage("burstiness: -1.0 (expected: > 0)");
    }
}
