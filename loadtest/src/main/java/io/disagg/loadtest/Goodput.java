package io.disagg.loadtest;

/**
 * DistServe's goodput: the highest request rate at which at least {@code attainmentTarget} of requests meet both
 * the TTFT and the TPOT SLO.
 *
 * @param requestsPerSecond the goodput; {@code 0} when even the lowest rate tried missed the target
 * @param attainmentTarget the required attainment, 0.9 by default
 * @param bracketedBy the lowest rate tried that missed the target, or {@code 0} when every rate met it (the
 *     goodput is then a lower bound: sweep higher)
 */
public record Goodput(double requestsPerSecond, double attainmentTarget, double bracketedBy) {
}
