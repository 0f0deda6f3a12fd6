package io.disagg.loadtest.internal;

import java.util.random.RandomGenerator;

/**
 * Gaps between open-loop arrivals. Gamma with shape {@code k} and scale {@code 1/(rate k)} has mean {@code 1/rate}
 * and coefficient of variation {@code 1/sqrt(k)}: {@code k = 1} is Poisson, {@code k < 1} burstier, {@code k > 1}
 * smoother (the convention of vLLM's {@code --burstiness}).
 */
public sealed interface ArrivalProcess {

    /** Seconds until the next arrival. */
    double nextGapSeconds(RandomGenerator random);

    double rate();

    static ArrivalProcess poisson(double rate) {
        return new Poisson(rate);
    }

    static ArrivalProcess gamma(double rate, double burstiness) {
        return new Gamma(rate, burstiness);
    }

    record Poisson(double rate) implements ArrivalProcess {
        public Poisson {
            checkRate(rate);
        }

        @Override
        public double nextGapSeconds(RandomGenerator random) {
            return random.nextExponential() / rate;
        }
    }

    record Gamma(double rate, double shape) implements ArrivalProcess {
        public Gamma {
            checkRate(rate);
            if (!(shape > 0) || Double.isInfinite(shape)) {
                throw new IllegalArgumentException("burstiness: %s (expected: > 0)".formatted(shape));
            }
        }

        @Override
        public double nextGapSeconds(RandomGenerator random) {
            return sampleGamma(shape, random) / (rate * shape);
        }
    }

    private static void checkRate(double rate) {
        if (!(rate > 0) || Double.isInfinite(rate)) {
            throw new IllegalArgumentException("rate: %s (expected: > 0)".formatted(rate));
        }
    }

    /** A Gamma(shape, 1) sample by Marsaglia and Tsang (2000); shapes below 1 use the {@code U^(1/k)} boost. */
    static double sampleGamma(double shape, RandomGenerator random) {
        if (shape < 1) {
            double u = random.nextDouble();
            return sampleGamma(shape + 1, random) * Math.pow(u, 1 / shape);
        }
        double d = shape - 1.0 / 3;
        double c = 1 / Math.sqrt(9 * d);
        while (true) {
            double x = random.nextGaussian();
            double v = 1 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = random.nextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) {
                return d * v;
            }
        }
    }
}
