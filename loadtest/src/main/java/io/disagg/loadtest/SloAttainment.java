package io.disagg.loadtest;

/**
 * Fractions of measured requests (failed ones included, as misses) that met the latency SLOs. A request with one
 * output token has no TPOT and meets the TPOT SLO trivially.
 *
 * @param ttftMs the TTFT target
 * @param tpotMs the TPOT target
 * @param ttft fraction meeting the TTFT target
 * @param tpot fraction meeting the TPOT target
 * @param both fraction meeting both: DistServe's SLO attainment
 */
public record SloAttainment(double ttftMs, double tpotMs, double ttft, double tpot, double both) {
}
