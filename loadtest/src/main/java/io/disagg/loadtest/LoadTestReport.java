package io.disagg.loadtest;

import java.util.List;
import java.util.Map;

/**
 * Everything one load test measured; written as JSON ({@code --out-json}) and HTML ({@code --out-html}).
 *
 * @param startedAt ISO-8601 wall-clock start
 * @param settings the options the run used, as strings
 * @param runs one per load level, in the order run
 * @param goodput present for rate sweeps with SLOs, otherwise {@code null}
 */
public record LoadTestReport(String startedAt, Map<String, String> settings, List<RunResult> runs, Goodput goodput) {

    public LoadTestReport {
        settings = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(settings));
        runs = List.copyOf(runs);
    }
}
