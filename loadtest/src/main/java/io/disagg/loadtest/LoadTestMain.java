package io.disagg.loadtest;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.disagg.loadtest.internal.HtmlReport;
import io.disagg.loadtest.internal.LoadRunner;
import io.disagg.loadtest.internal.Orchestrator;
import io.disagg.loadtest.internal.SharedPrefix;
import io.disagg.proto.v1.ServeMode;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code disagg loadtest}: drives a Disagg router (or any OpenAI-compatible server) with open- or closed-loop load
 * and reports TTFT, TPOT, ITL, end-to-end latency, throughput, SLO attainment and goodput as JSON and HTML.
 *
 * <p>Traffic goes only to loopback addresses unless {@code --allow-remote} is given, so a mistyped target cannot
 * load someone else's server.
 */
@Command(name = "loadtest", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Load-test a Disagg router: TTFT, TPOT, ITL, SLO attainment and goodput.",
        footer = {"", "Examples:",
            "  disagg loadtest --target localhost:50051 --rate 4 --duration 30s --slo-ttft-ms 500 --slo-tpot-ms 50",
            "  disagg loadtest --target http://localhost:8080 --protocol openai --sweep 1,2,4,8 --profile rag \\",
            "      --slo-ttft-ms 1000 --slo-tpot-ms 100 --out-json r.json --out-html r.html",
            "  disagg loadtest --target localhost:50051 --mode closed --users 1,4,16 --profile reasoning",
            "  disagg loadtest --target localhost:50051 --rate 2 --shared-prefix-tokens 256 --prompt-format token-ids"})
public final class LoadTestMain implements Callable<Integer> {

    @Option(names = "--target", required = true, paramLabel = "URL|HOST:PORT",
            description = "Router address: host:port for gRPC, http://host:port for OpenAI.")
    String target;

    @Option(names = "--protocol", defaultValue = "grpc", description = "grpc or openai (default: ${DEFAULT-VALUE}).")
    String protocol;

    @Option(names = "--model", defaultValue = "", description = "Model name; empty for the only model served.")
    String model;

    @Option(names = "--api-key", description = "API key (default: $DISAGG_API_KEY), sent as a Bearer token.")
    String apiKey;

    @Option(names = "--force-mode", defaultValue = "auto",
            description = "gRPC only: auto, colocated or disaggregated (default: ${DEFAULT-VALUE}).")
    String forceMode;

    @Option(names = "--mode", defaultValue = "open",
            description = "open (arrivals at a rate) or closed (N users back to back) (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--rate", description = "Open loop: requests per second.")
    Double rate;

    @Option(names = "--sweep", split = ",", paramLabel = "R1,R2,...",
            description = "Open loop: rates to sweep, for SLO attainment and goodput.")
    List<Double> sweep;

    @Option(names = "--users", split = ",", defaultValue = "1",
            description = "Closed loop: concurrent users; a list sweeps (default: ${DEFAULT-VALUE}).")
    List<Integer> users;

    @Option(names = "--distribution", defaultValue = "poisson",
            description = "Arrival process: poisson or gamma (default: ${DEFAULT-VALUE}).")
    String distribution;

    @Option(names = "--burstiness", defaultValue = "1.0",
            description = "Gamma shape: 1 = Poisson, < 1 burstier, > 1 smoother (default: ${DEFAULT-VALUE}).")
    double burstiness;

    @Option(names = "--profile", defaultValue = "chat",
            description = "chat, rag, reasoning, mixed or trace:FILE (JSONL of timestamp, input_tokens, "
                    + "output_tokens) (default: ${DEFAULT-VALUE}).")
    String profile;

    @Option(names = "--length-scale", defaultValue = "1.0",
            description = "Multiplies profile token lengths, to fit small models (default: ${DEFAULT-VALUE}).")
    double lengthScale;

    @Option(names = "--max-input-tokens", defaultValue = "1000000",
            description = "Cap on prompt lengths (not counting a shared prefix).")
    int maxInputTokens;

    @Option(names = "--max-output-tokens", defaultValue = "1000000", description = "Cap on output lengths.")
    int maxOutputTokens;

    @Option(names = "--prompt-format", defaultValue = "text",
            description = "text (repeated one-token words) or token-ids (exact length) (default: ${DEFAULT-VALUE}).")
    String promptFormat;

    @Option(names = "--shared-prefix-tokens", defaultValue = "0", paramLabel = "N",
            description = "Start every prompt with the same N-token system prompt, drawn from --seed, to exercise "
                    + "prefix caching; profile lengths and --max-input-tokens count the part after it "
                    + "(default: ${DEFAULT-VALUE}: none).")
    int sharedPrefixTokens;

    @Option(names = "--prefix-groups", defaultValue = "1", paramLabel = "K",
            description = "With --shared-prefix-tokens: K distinct system prompts, one picked at random per request "
                    + "(default: ${DEFAULT-VALUE}).")
    int prefixGroups;

    @Option(names = "--vocab-size", defaultValue = "32000",
            description = "OpenAI with token-ids: vocabulary size (gRPC asks the router) (default: ${DEFAULT-VALUE}).")
    int vocabSize;

    @Option(names = "--warmup", defaultValue = "0s", converter = DurationConverter.class,
            description = "Requests sent in this first period are excluded from the report (default: ${DEFAULT-VALUE}).")
    Duration warmup;

    @Option(names = "--duration", defaultValue = "30s", converter = DurationConverter.class,
            description = "Measured period per load level, after warm-up (default: ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--max-requests", defaultValue = "1000",
            description = "Measured requests per load level at most (default: ${DEFAULT-VALUE}).")
    int maxRequests;

    @Option(names = "--drain-timeout", defaultValue = "30s", converter = DurationConverter.class,
            description = "Wait this long for running requests after issuing stops; then cancel them "
                    + "(default: ${DEFAULT-VALUE}).")
    Duration drainTimeout;

    @Option(names = "--request-timeout", defaultValue = "120s", converter = DurationConverter.class,
            description = "Deadline of each request (default: ${DEFAULT-VALUE}).")
    Duration requestTimeout;

    @Option(names = "--slo-ttft-ms", description = "TTFT target in milliseconds.")
    Double sloTtftMs;

    @Option(names = "--slo-tpot-ms", description = "TPOT target in milliseconds.")
    Double sloTpotMs;

    @Option(names = "--attainment-target", defaultValue = "0.9",
            description = "Fraction meeting both SLOs that defines goodput (default: ${DEFAULT-VALUE}).")
    double attainmentTarget;

    @Option(names = "--goodput-refine", defaultValue = "0",
            description = "Extra bisection runs between the last passing and first failing rate (default: 0).")
    int refineSteps;

    @Option(names = "--seed", defaultValue = "1", description = "Seed for arrivals, lengths and prompts.")
    long seed;

    @Option(names = "--out-json", description = "Write the report as JSON here.")
    Path outJson;

    @Option(names = "--out-html", description = "Write a self-contained HTML report with charts here.")
    Path outHtml;

    @Option(names = "--no-progress", description = "No progress bar (it is only drawn on a terminal anyway).")
    boolean noProgress;

    @Option(names = "--allow-remote", description = "Allow a target that is not a loopback address.")
    boolean allowRemote;

    private PrintStream err = System.err;
    private PrintStream out = System.out;

    public static void main(String... args) {
        System.exit(run(args));
    }

    /** Runs the command; returns the process exit code (0 success, 1 failure, 2 bad usage). */
    public static int run(String... args) {
        return new CommandLine(new LoadTestMain()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    }

    @Override
    public Integer call() throws Exception {
        Orchestrator.Plan plan;
        try {
            plan = plan();
        } catch (IllegalArgumentException e) {
            err.println("loadtest: " + e.getMessage());
            return 2;
        }
        boolean bar = !noProgress && io.disagg.loadtest.internal.TerminalProgress.isTerminal();
        LoadTestReport report;
        try {
            report = new Orchestrator(Orchestrator::connect, err, bar).run(plan);
        } catch (IllegalStateException e) {
            err.println("loadtest: " + e.getMessage());
            return 1;
        }
        if (report.goodput() != null) {
            out.printf(Locale.ROOT, "goodput: %.3f req/s at %.0f%% attainment%n", report.goodput().requestsPerSecond(),
                    report.goodput().attainmentTarget() * 100);
        }
        if (outJson != null) {
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(outJson.toFile(), report);
            out.println("wrote " + outJson);
        }
        if (outHtml != null) {
            Files.writeString(outHtml, HtmlReport.render(report));
            out.println("wrote " + outHtml);
        }
        boolean anySuccess = report.runs().stream().anyMatch(r -> r.succeeded() > 0);
        return anySuccess ? 0 : 1;
    }

    Orchestrator.Plan plan() {
        var proto = switch (protocol.toLowerCase(Locale.ROOT)) {
            case "grpc" -> Orchestrator.Protocol.GRPC;
            case "openai" -> Orchestrator.Protocol.OPENAI;
            default -> throw new IllegalArgumentException("protocol: %s (expected: grpc or openai)".formatted(protocol));
        };
        var loop = switch (mode.toLowerCase(Locale.ROOT)) {
            case "open" -> Orchestrator.Mode.OPEN;
            case "closed" -> Orchestrator.Mode.CLOSED;
            default -> throw new IllegalArgumentException("mode: %s (expected: open or closed)".formatted(mode));
        };
        var dist = switch (distribution.toLowerCase(Locale.ROOT)) {
            case "poisson" -> Orchestrator.Distribution.POISSON;
            case "gamma" -> Orchestrator.Distribution.GAMMA;
            default -> throw new IllegalArgumentException(
                    "distribution: %s (expected: poisson or gamma)".formatted(distribution));
        };
        var serve = switch (forceMode.toLowerCase(Locale.ROOT)) {
            case "auto" -> ServeMode.SERVE_MODE_UNSPECIFIED;
            case "colocated" -> ServeMode.SERVE_MODE_COLOCATED;
            case "disaggregated" -> ServeMode.SERVE_MODE_DISAGGREGATED;
            default -> throw new IllegalArgumentException(
                    "force-mode: %s (expected: auto, colocated or disaggregated)".formatted(forceMode));
        };
        var format = switch (promptFormat.toLowerCase(Locale.ROOT)) {
            case "text" -> LoadRunner.PromptFormat.TEXT;
            case "token-ids" -> LoadRunner.PromptFormat.TOKEN_IDS;
            default -> throw new IllegalArgumentException(
                    "prompt-format: %s (expected: text or token-ids)".formatted(promptFormat));
        };
        if (serve != ServeMode.SERVE_MODE_UNSPECIFIED && proto != Orchestrator.Protocol.GRPC) {
            throw new IllegalArgumentException("force-mode: %s (expected: auto with --protocol openai)"
                    .formatted(forceMode));
        }
        List<Double> rates = sweep != null ? sweep : rate != null ? List.of(rate) : List.of();
        for (double r : rates) {
            if (!(r > 0) || Double.isInfinite(r)) {
                throw new IllegalArgumentException("rate: %s (expected: > 0)".formatted(r));
            }
        }
        if (loop == Orchestrator.Mode.OPEN && rates.isEmpty() && !profile.startsWith("trace:")) {
            throw new IllegalArgumentException("rate: not set (expected: --rate or --sweep for open loop, "
                    + "or a trace:FILE profile)");
        }
        for (int u : users) {
            if (u < 1) {
                throw new IllegalArgumentException("users: %d (expected: > 0)".formatted(u));
            }
        }
        if (!(burstiness > 0)) {
            throw new IllegalArgumentException("burstiness: %s (expected: > 0)".formatted(burstiness));
        }
        if (!(attainmentTarget > 0 && attainmentTarget <= 1)) {
            throw new IllegalArgumentException("attainment-target: %s (expected: 0 < t <= 1)"
                    .formatted(attainmentTarget));
        }
        if (maxInputTokens < 1 || maxOutputTokens < 1) {
            throw new IllegalArgumentException("max-input-tokens/max-output-tokens: %d/%d (expected: > 0)"
                    .formatted(maxInputTokens, maxOutputTokens));
        }
        if (refineSteps < 0 || refineSteps > 10) {
            throw new IllegalArgumentException("goodput-refine: %d (expected: 0..10)".formatted(refineSteps));
        }
        checkPositive("slo-ttft-ms", sloTtftMs);
        checkPositive("slo-tpot-ms", sloTpotMs);
        var sharedPrefix = new SharedPrefix(sharedPrefixTokens, prefixGroups, seed);
        String resolvedTarget = normalizeTarget(proto, target);
        String key = apiKey != null ? apiKey : System.getenv("DISAGG_API_KEY");
        var bounds = new LoadRunner.Bounds(warmup, duration, maxRequests, drainTimeout);
        var settings = Orchestrator.settings("target", resolvedTarget, "protocol", proto, "model", model,
                "force-mode", forceMode, "mode", loop, "rates", rates, "users", users, "distribution", dist,
                "burstiness", burstiness, "profile", profile, "length-scale", lengthScale,
                "max-input-tokens", maxInputTokens, "max-output-tokens", maxOutputTokens,
                "prompt-format", promptFormat, "shared-prefix-tokens", sharedPrefixTokens,
                "prefix-groups", prefixGroups, "warmup", warmup, "duration", duration, "max-requests", maxRequests,
                "slo-ttft-ms", sloTtftMs == null ? "-" : sloTtftMs, "slo-tpot-ms", sloTpotMs == null ? "-" : sloTpotMs,
                "attainment-target", attainmentTarget, "seed", seed);
        return new Orchestrator.Plan(proto, resolvedTarget, model, key, serve, loop, rates, users, dist, burstiness,
                profile, lengthScale, maxInputTokens, maxOutputTokens, format, vocabSize, sharedPrefix, bounds,
                requestTimeout, sloTtftMs == null ? Double.POSITIVE_INFINITY : sloTtftMs,
                sloTpotMs == null ? Double.POSITIVE_INFINITY : sloTpotMs, attainmentTarget, refineSteps, seed,
                settings);
    }

    private static void checkPositive(String name, Double v) {
        if (v != null && !(v > 0)) {
            throw new IllegalArgumentException("%s: %s (expected: > 0)".formatted(name, v));
        }
    }

    /** {@code host:port} for gRPC, a base URL for OpenAI; refuses non-loopback hosts unless allowed. */
    String normalizeTarget(Orchestrator.Protocol proto, String raw) {
        String withScheme = raw.contains("://") ? raw : "http://" + raw;
        URI uri = URI.create(withScheme);
        if (uri.getHost() == null || uri.getPort() < 0) {
            throw new IllegalArgumentException("target: %s (expected: host:port or http://host:port)".formatted(raw));
        }
        if (!allowRemote) {
            try {
                for (InetAddress a : InetAddress.getAllByName(uri.getHost())) {
                    if (!a.isLoopbackAddress()) {
                        throw new IllegalArgumentException("target: %s resolves to %s (expected: a loopback address;"
                                + " pass --allow-remote to load a remote server)".formatted(raw, a.getHostAddress()));
                    }
                }
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("target: %s (unknown host)".formatted(raw), e);
            }
        }
        String hostPort = (uri.getHost().contains(":") ? "[" + uri.getHost() + "]" : uri.getHost()) + ":"
                + uri.getPort();
        return proto == Orchestrator.Protocol.GRPC ? hostPort
                : (uri.getScheme().equals("https") ? "https://" : "http://") + hostPort
                        + (uri.getPath() == null ? "" : uri.getPath());
    }

    /** Parses {@code 500ms}, {@code 10s}, {@code 2m}, or a plain number of seconds. */
    static final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
        @Override
        public Duration convert(String value) {
            String v = value.strip().toLowerCase(Locale.ROOT);
            try {
                if (v.endsWith("ms")) {
                    return Duration.ofMillis(Long.parseLong(v.substring(0, v.length() - 2)));
                }
                if (v.endsWith("s")) {
                    return Duration.ofNanos((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 1e9));
                }
                if (v.endsWith("m")) {
                    return Duration.ofNanos((long) (Double.parseDouble(v.substring(0, v.length() - 1)) * 60e9));
                }
                return Duration.ofNanos((long) (Double.parseDouble(v) * 1e9));
            } catch (NumberFormatException e) {
                throw new CommandLine.TypeConversionException(
                        "duration: %s (expected: e.g. 500ms, 10s, 2m)".formatted(value));
            }
        }
    }
}
