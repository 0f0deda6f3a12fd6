package io.disagg.loadtest.internal;

import io.disagg.loadtest.Goodput;
import io.disagg.loadtest.LoadTestReport;
import io.disagg.loadtest.RunResult;
import io.disagg.proto.v1.ServeMode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Function;

/** Runs every load level of a plan against one target and assembles the report. */
public final class Orchestrator {

    public enum Protocol { GRPC, OPENAI }

    public enum Mode { OPEN, CLOSED }

    public enum Distribution { POISSON, GAMMA }

    /**
     * Everything a load test needs. For open loop, {@code rates} holds one rate or a sweep; for closed loop,
     * {@code users} holds one or more user counts. A trace with no rates replays its own timestamps.
     */
    public record Plan(Protocol protocol, String target, String model, String apiKey, ServeMode forceMode,
                       Mode mode, List<Double> rates, List<Integer> users, Distribution distribution,
                       double burstiness, String workload, double lengthScale, int maxInputTokens,
                       int maxOutputTokens, LoadRunner.PromptFormat promptFormat, int vocabSize,
                       SharedPrefix sharedPrefix, LoadRunner.Bounds bounds, Duration requestTimeout, double sloTtftMs,
                       double sloTpotMs, double attainmentTarget, int refineSteps, long seed,
                       Map<String, String> settings) {
    }

    private final Function<Plan, Target> targets;
    private final PrintStream log;
    private final boolean progressBar;

    public Orchestrator(Function<Plan, Target> targets, PrintStream log, boolean progressBar) {
        this.targets = targets;
        this.log = log;
        this.progressBar = progressBar;
    }

    /** Connects to the target the plan names over its protocol. */
    public static Target connect(Plan plan) {
        return switch (plan.protocol()) {
            case GRPC -> new GrpcTarget(plan.target(), plan.apiKey(), plan.model(), plan.forceMode(),
                    plan.requestTimeout());
            case OPENAI -> new OpenAiTarget(URI.create(plan.target()), plan.apiKey(), plan.model(), plan.vocabSize(),
                    plan.requestTimeout());
        };
    }

    public LoadTestReport run(Plan plan) throws IOException, InterruptedException {
        String startedAt = Instant.now().toString();
        ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().name("loadtest-scheduler").daemon(true).factory());
        var results = new ArrayList<RunResult>();
        Goodput goodput = null;
        try (Target target = targets.apply(plan)) {
            if (plan.protocol() == Protocol.GRPC) {
                // connects the channel before the first measured request and fails fast when nothing listens
                target.vocabSize();
            } else if (target instanceof OpenAiTarget openAi) {
                // resolves an empty --model to the only model served, before the first measured request
                openAi.model();
            }
            var runner = new LoadRunner(target, scheduler, System::nanoTime, plan.promptFormat(),
                    plan.sharedPrefix());
            int index = 0;
            if (plan.mode() == Mode.CLOSED) {
                for (int users : plan.users()) {
                    results.add(runLevel(runner, plan, LoadRunner.Level.closed(users), users + " users", 0, users,
                            index++));
                }
            } else {
                List<Double> rates = plan.rates().isEmpty() ? List.of(0.0) : plan.rates();
                for (double rate : rates) {
                    results.add(runOpen(runner, plan, rate, index++));
                }
                boolean slos = Double.isFinite(plan.sloTtftMs()) && Double.isFinite(plan.sloTpotMs());
                if (slos && !plan.rates().isEmpty()) {
                    goodput = goodput(results, plan.attainmentTarget());
                    for (int step = 0; step < plan.refineSteps() && goodput.bracketedBy() > 0; step++) {
                        // bisect between the best passing rate and the first miss to narrow the goodput down
                        double mid = (goodput.requestsPerSecond() + goodput.bracketedBy()) / 2;
                        results.add(runOpen(runner, plan, mid, index++));
                        goodput = goodput(results, plan.attainmentTarget());
                    }
                    results.sort(Comparator.comparingDouble(RunResult::offeredRate));
                }
            }
        } finally {
            scheduler.shutdownNow();
        }
        return new LoadTestReport(startedAt, plan.settings(), results, goodput);
    }

    private static Goodput goodput(List<RunResult> results, double target) {
        return Statistics.goodput(results.stream().mapToDouble(RunResult::offeredRate).toArray(),
                results.stream().mapToDouble(r -> r.slo().both()).toArray(), target);
    }

    private RunResult runOpen(LoadRunner runner, Plan plan, double rate, int index)
            throws IOException, InterruptedException {
        Workload workload = workload(plan);
        LoadRunner.Level level;
        String label;
        if (workload instanceof Workload.Trace trace && rate == 0) {
            level = LoadRunner.Level.trace(1);
            label = "trace replay";
        } else if (workload instanceof Workload.Trace trace && trace.rate() > 0) {
            // keep the trace's burst structure, stretched or squeezed to the requested mean rate
            level = LoadRunner.Level.trace(trace.rate() / rate);
            label = String.format(Locale.ROOT, "trace at %s/s", SvgChart.fmt(rate));
        } else {
            if (rate <= 0) {
                throw new IllegalArgumentException("rate: %s (expected: > 0)".formatted(rate));
            }
            level = LoadRunner.Level.open(plan.distribution() == Distribution.GAMMA
                    ? ArrivalProcess.gamma(rate, plan.burstiness()) : ArrivalProcess.poisson(rate));
            label = String.format(Locale.ROOT, "rate %s/s", SvgChart.fmt(rate));
        }
        return runLevel(runner, plan, level, label, rate, 0, index);
    }

    private RunResult runLevel(LoadRunner runner, Plan plan, LoadRunner.Level level, String label, double rate,
                               int users, int index) throws IOException, InterruptedException {
        LoadRunner.Progress progress = progressBar ? new TerminalProgress(log, label) : LoadRunner.Progress.NONE;
        var records = runner.run(level, workload(plan), plan.bounds(), new SplittableRandom(plan.seed() + index),
                progress);
        RunResult result = Statistics.result(label, rate, users, records, plan.sloTtftMs(), plan.sloTpotMs());
        log.println(summaryLine(result));
        return result;
    }

    private static Workload workload(Plan plan) throws IOException {
        return Workload.parse(plan.workload(), plan.lengthScale(), plan.maxInputTokens(), plan.maxOutputTokens());
    }

    static String summaryLine(RunResult r) {
        return String.format(Locale.ROOT,
                "%-16s %4d req (%d ok) %6.2f req/s %7.1f tok/s | TTFT p50 %s p99 %s prefix hit %s | "
                        + "TPOT p50 %s p99 %s | ITL p50 %s | E2E p50 %s | SLO %s%s",
                r.label(), r.requests(), r.succeeded(), r.requestThroughput(), r.outputTokenThroughput(),
                HtmlReport.num(r.ttft().p50()), HtmlReport.num(r.ttft().p99()),
                HtmlReport.percent(r.prefixCacheHitRatio()), HtmlReport.num(r.tpot().p50()),
                HtmlReport.num(r.tpot().p99()), HtmlReport.num(r.itl().p50()), HtmlReport.num(r.e2e().p50()),
                HtmlReport.percent(r.slo().both()),
                r.errors().isEmpty() ? "" : " errors " + r.errors());
    }

    /** Settings in a stable order for the report. */
    public static Map<String, String> settings(Object... keyValues) {
        var map = new LinkedHashMap<String, String>();
        for (int i = 0; i + 1 < keyValues.length; i += 2) {
            map.put(String.valueOf(keyValues[i]), String.valueOf(keyValues[i + 1]));
        }
        return map;
    }
}
