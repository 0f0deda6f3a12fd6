/**
 * Load testing for Disagg, measured the way the serving literature does (DistServe, Splitwise): time to first token
 * (TTFT), time per output token (TPOT), inter-token latency (ITL), end-to-end latency, SLO attainment and goodput.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.loadtest.LoadTestMain}: the {@code disagg loadtest} command; {@code --help} lists every
 *       option.</li>
 *   <li>{@link io.disagg.loadtest.LoadTestReport}, {@link io.disagg.loadtest.RunResult},
 *       {@link io.disagg.loadtest.Goodput}: the report, as written to JSON.</li>
 * </ul>
 *
 * <p>Talks to servers through the public client SDK ({@code io.disagg.client}) or plain HTTP; must not import any
 * router or worker code, so it measures a cluster exactly as an outside client would.
 */
package io.disagg.loadtest;
