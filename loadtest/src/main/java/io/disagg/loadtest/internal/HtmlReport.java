package io.disagg.loadtest.internal;

import io.disagg.loadtest.LatencySummary;
import io.disagg.loadtest.LoadTestReport;
import io.disagg.loadtest.RunResult;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Renders a report as one self-contained HTML file: tables plus inline SVG charts drawn by {@link SvgChart}, no
 * scripts, no external resources, so it opens offline. The markup is well-formed XML (tests parse it).
 */
public final class HtmlReport {

    private HtmlReport() {
    }

    public static String render(LoadTestReport report) {
        var sb = new StringBuilder();
        sb.append("""
                <!DOCTYPE html>
                <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
                <head>
                <meta charset="utf-8"/>
                <title>Disagg load test</title>
                <style>
                body { font-family: system-ui, sans-serif; margin: 24px; color: #222; }
                table { border-collapse: collapse; margin: 8px 0 20px; font-size: 13px; }
                th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
                th { background: #f3f3f3; }
                td.l, th.l { text-align: left; }
                .charts { display: flex; flex-wrap: wrap; gap: 16px; }
                .goodput { font-size: 18px; margin: 12px 0; }
                </style>
                </head>
                <body>
                <h1>Disagg load test</h1>
                """);
        sb.append("<p>Started ").append(SvgChart.esc(report.startedAt())).append("</p>\n");
        if (report.goodput() != null) {
            var g = report.goodput();
            sb.append(String.format(Locale.ROOT, "<p class=\"goodput\" id=\"goodput\">Goodput: <b>%s req/s</b> "
                    + "(highest swept rate with at least %.0f%% of requests meeting both SLOs%s)</p>%n",
                    SvgChart.fmt(g.requestsPerSecond()), g.attainmentTarget() * 100,
                    g.bracketedBy() > 0 ? "; missed at " + SvgChart.fmt(g.bracketedBy()) + " req/s"
                            : "; every rate met it, so this is a lower bound"));
        }
        summaryTable(sb, report.runs());
        sb.append("<h2>Latency distributions</h2>\n<div class=\"charts\">\n");
        for (var metric : List.of(new String[] {"ttft", "TTFT CDF", "time to first token (ms)"},
                new String[] {"tpot", "TPOT CDF", "time per output token (ms)"},
                new String[] {"itl", "ITL CDF", "inter-token latency (ms)"},
                new String[] {"e2e", "End-to-end latency CDF", "end-to-end latency (ms)"})) {
            var chart = new SvgChart(metric[1], metric[2], "fraction of requests").yMax(1.0);
            for (RunResult r : report.runs()) {
                chart.add(SvgChart.cdf(r.label(), r.cdfs().getOrDefault(metric[0], new double[0])));
            }
            sb.append("<figure id=\"cdf-").append(metric[0]).append("\">").append(chart.render()).append("</figure>\n");
        }
        sb.append("</div>\n");
        List<RunResult> open = report.runs().stream().filter(r -> r.offeredRate() > 0).toList();
        if (!open.isEmpty() && !Double.isNaN(open.getFirst().slo().both())) {
            double[] rates = open.stream().mapToDouble(RunResult::offeredRate).toArray();
            var chart = new SvgChart("SLO attainment vs request rate", "offered rate (req/s)", "attainment")
                    .yMax(1.0)
                    .add(new SvgChart.Series("both SLOs", rates,
                            open.stream().mapToDouble(r -> r.slo().both()).toArray(), true))
                    .add(new SvgChart.Series("TTFT SLO", rates,
                            open.stream().mapToDouble(r -> r.slo().ttft()).toArray(), true))
                    .add(new SvgChart.Series("TPOT SLO", rates,
                            open.stream().mapToDouble(r -> r.slo().tpot()).toArray(), true));
            if (report.goodput() != null) {
                chart.horizontalLine(report.goodput().attainmentTarget(),
                        String.format(Locale.ROOT, "%.0f%% target", report.goodput().attainmentTarget() * 100));
                if (report.goodput().requestsPerSecond() > 0) {
                    chart.marker(new SvgChart.Marker(report.goodput().requestsPerSecond(),
                            report.goodput().attainmentTarget(),
                            "goodput " + SvgChart.fmt(report.goodput().requestsPerSecond()) + " req/s"));
                }
            }
            var throughput = new SvgChart("Throughput vs request rate", "offered rate (req/s)", "completed req/s")
                    .add(new SvgChart.Series("completed", rates,
                            open.stream().mapToDouble(RunResult::requestThroughput).toArray(), true))
                    .add(new SvgChart.Series("offered", rates, rates, false));
            sb.append("<h2>SLO attainment and goodput</h2>\n<div class=\"charts\">\n<figure id=\"attainment\">")
                    .append(chart.render()).append("</figure>\n<figure id=\"throughput\">")
                    .append(throughput.render()).append("</figure>\n</div>\n");
        }
        errorsTable(sb, report.runs());
        sb.append("<h2>Settings</h2>\n<table>\n");
        for (Map.Entry<String, String> e : report.settings().entrySet()) {
            sb.append("<tr><th class=\"l\">").append(SvgChart.esc(e.getKey())).append("</th><td class=\"l\">")
                    .append(SvgChart.esc(e.getValue())).append("</td></tr>\n");
        }
        sb.append("</table>\n</body>\n</html>\n");
        return sb.toString();
    }

    private static void summaryTable(StringBuilder sb, List<RunResult> runs) {
        sb.append("""
                <h2>Summary</h2>
                <table id="summary">
                <tr><th class="l">load</th><th>requests</th><th>ok</th><th>req/s</th><th>out tok/s</th>
                <th>TTFT p50</th><th>TTFT p90</th><th>TTFT p99</th><th>prefix cache hit</th>
                <th>TPOT p50</th><th>TPOT p90</th><th>TPOT p99</th>
                <th>ITL p50</th><th>ITL p99</th><th>E2E p50</th><th>E2E p99</th><th>SLO attainment</th></tr>
                """);
        for (RunResult r : runs) {
            sb.append("<tr><td class=\"l\">").append(SvgChart.esc(r.label())).append("</td>");
            cell(sb, Integer.toString(r.requests()));
            cell(sb, Integer.toString(r.succeeded()));
            cell(sb, num(r.requestThroughput()));
            cell(sb, num(r.outputTokenThroughput()));
            ms(sb, r.ttft(), true);
            cell(sb, percent(r.prefixCacheHitRatio()));
            ms(sb, r.tpot(), true);
            cell(sb, num(r.itl().p50()));
            cell(sb, num(r.itl().p99()));
            cell(sb, num(r.e2e().p50()));
            cell(sb, num(r.e2e().p99()));
            cell(sb, percent(r.slo().both()));
            sb.append("</tr>\n");
        }
        sb.append("</table>\n<p>Latencies in milliseconds. SLO: TTFT at most ")
                .append(runs.isEmpty() ? "-" : num(runs.getFirst().slo().ttftMs())).append(" ms and TPOT at most ")
                .append(runs.isEmpty() ? "-" : num(runs.getFirst().slo().tpotMs())).append(" ms. Prefix cache hit: ")
                .append("prompt tokens the server reported as cached, over all prompt tokens of completed ")
                .append("requests.</p>\n");
    }

    private static void errorsTable(StringBuilder sb, List<RunResult> runs) {
        sb.append("<h2>Errors</h2>\n<table id=\"errors\">\n<tr><th class=\"l\">load</th><th class=\"l\">type</th>"
                + "<th>count</th></tr>\n");
        boolean any = false;
        for (RunResult r : runs) {
            for (var e : r.errors().entrySet()) {
                any = true;
                sb.append("<tr><td class=\"l\">").append(SvgChart.esc(r.label())).append("</td><td class=\"l\">")
                        .append(SvgChart.esc(e.getKey())).append("</td><td>").append(e.getValue())
                        .append("</td></tr>\n");
            }
        }
        if (!any) {
            sb.append("<tr><td class=\"l\" colspan=\"3\">none</td></tr>\n");
        }
        sb.append("</table>\n");
    }

    private static void ms(StringBuilder sb, LatencySummary s, boolean p90) {
        cell(sb, num(s.p50()));
        if (p90) {
            cell(sb, num(s.p90()));
        }
        cell(sb, num(s.p99()));
    }

    private static void cell(StringBuilder sb, String v) {
        sb.append("<td>").append(v).append("</td>");
    }

    static String num(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.1f", v);
    }

    /** A fraction as a percentage with one decimal, {@code "-"} for {@code NaN}. */
    static String percent(double fraction) {
        return Double.isNaN(fraction) ? "-" : String.format(Locale.ROOT, "%.1f%%", fraction * 100);
    }
}
