package io.disagg.loadtest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * Where request lengths come from: a synthetic profile or a recorded trace.
 *
 * <p>Profiles draw lengths uniformly from a range, so their percentiles can be checked by hand:
 * <table>
 *   <caption>Token-length ranges (before {@code --length-scale})</caption>
 *   <tr><th>profile</th><th>input</th><th>output</th><th>stresses</th></tr>
 *   <tr><td>chat</td><td>64..512</td><td>64..256</td><td>both phases lightly</td></tr>
 *   <tr><td>rag</td><td>1024..4096</td><td>32..128</td><td>prefill</td></tr>
 *   <tr><td>reasoning</td><td>64..256</td><td>512..2048</td><td>decode</td></tr>
 *   <tr><td>mixed</td><td colspan="2">chat 50%, rag 25%, reasoning 25%</td><td>interference</td></tr>
 * </table>
 */
public sealed interface Workload {

    /** The next request, or {@code null} when the workload is exhausted (traces only). */
    WorkItem next(RandomGenerator random);

    /** Whether items carry their own arrival times. */
    default boolean isTrace() {
        return false;
    }

    /** A uniform length range. */
    record Range(int min, int max) {
        public Range {
            if (min < 1 || max < min) {
                throw new IllegalArgumentException("range: %d..%d (expected: 1 <= min <= max)".formatted(min, max));
            }
        }

        int draw(RandomGenerator random) {
            return min == max ? min : random.nextInt(min, max + 1);
        }

        Range scaled(double factor, int cap) {
            int lo = (int) Math.max(1, Math.min(cap, Math.round(min * factor)));
            int hi = (int) Math.max(lo, Math.min(cap, Math.round(max * factor)));
            return new Range(lo, hi);
        }
    }

    /** Input and output lengths drawn independently. */
    record Profile(String name, Range input, Range output) implements Workload {
        @Override
        public WorkItem next(RandomGenerator random) {
            return new WorkItem(input.draw(random), output.draw(random), -1);
        }
    }

    /** A weighted choice among profiles. */
    record Mix(List<Profile> profiles, double[] weights) implements Workload {
        @Override
        public WorkItem next(RandomGenerator random) {
            double u = random.nextDouble();
            double acc = 0;
            for (int i = 0; i < profiles.size(); i++) {
                acc += weights[i];
                if (u < acc) {
                    return profiles.get(i).next(random);
                }
            }
            return profiles.getLast().next(random);
        }
    }

    /** A recorded trace, replayed once in order. Not thread-safe; the generator draws from one thread. */
    final class Trace implements Workload {
        private final List<WorkItem> items;
        private int position;

        public Trace(List<WorkItem> items) {
            if (items.isEmpty()) {
                throw new IllegalArgumentException("trace: empty (expected: at least one request)");
            }
            this.items = List.copyOf(items);
        }

        public List<WorkItem> items() {
            return items;
        }

        /** Mean arrival rate of the trace in requests per second (0 when all arrive at once). */
        public double rate() {
            double span = items.getLast().traceOffsetSeconds() - items.getFirst().traceOffsetSeconds();
            return span > 0 ? (items.size() - 1) / span : 0;
        }

        @Override
        public WorkItem next(RandomGenerator random) {
            return position < items.size() ? items.get(position++) : null;
        }

        @Override
        public boolean isTrace() {
            return true;
        }
    }

    /**
     * Parses {@code chat}, {@code rag}, {@code reasoning}, {@code mixed} or {@code trace:FILE}.
     *
     * @param lengthScale multiplies every synthetic length (to fit small models)
     * @param maxInput cap on input lengths, after scaling
     * @param maxOutput cap on output lengths, after scaling
     */
    static Workload parse(String spec, double lengthScale, int maxInput, int maxOutput) throws IOException {
        if (!(lengthScale > 0)) {
            throw new IllegalArgumentException("lengthScale: %s (expected: > 0)".formatted(lengthScale));
        }
        if (spec.startsWith("trace:")) {
            return readTrace(Path.of(spec.substring("trace:".length())), maxInput, maxOutput);
        }
        var chat = profile("chat", 64, 512, 64, 256, lengthScale, maxInput, maxOutput);
        var rag = profile("rag", 1024, 4096, 32, 128, lengthScale, maxInput, maxOutput);
        var reasoning = profile("reasoning", 64, 256, 512, 2048, lengthScale, maxInput, maxOutput);
        return switch (spec.toLowerCase(Locale.ROOT)) {
            case "chat" -> chat;
            case "rag" -> rag;
            case "reasoning" -> reasoning;
            case "mixed" -> new Mix(List.of(chat, rag, reasoning), new double[] {0.5, 0.25, 0.25});
            default -> throw new IllegalArgumentException(
                    "profile: %s (expected: chat, rag, reasoning, mixed or trace:FILE)".formatted(spec));
        };
    }

    private static Profile profile(String name, int inMin, int inMax, int outMin, int outMax, double scale,
                                   int maxIn, int maxOut) {
        return new Profile(name, new Range(inMin, inMax).scaled(scale, maxIn),
                new Range(outMin, outMax).scaled(scale, maxOut));
    }

    /**
     * Reads a JSONL trace: one object per line with {@code timestamp} (seconds, any origin), {@code input_tokens} and
     * {@code output_tokens}. Blank lines are skipped; items are ordered by timestamp and offset to start at 0.
     */
    static Trace readTrace(Path file, int maxInput, int maxOutput) throws IOException {
        var mapper = new ObjectMapper();
        var raw = new ArrayList<double[]>();
        int lineNo = 0;
        for (String line : Files.readAllLines(file)) {
            lineNo++;
            if (line.isBlank()) {
                continue;
            }
            JsonNode n = mapper.readTree(line);
            for (String field : List.of("timestamp", "input_tokens", "output_tokens")) {
                if (!n.hasNonNull(field) || !n.get(field).isNumber()) {
                    throw new IllegalArgumentException("trace %s line %d: %s missing (expected: a number)"
                            .formatted(file, lineNo, field));
                }
            }
            raw.add(new double[] {n.get("timestamp").asDouble(), n.get("input_tokens").asInt(),
                    n.get("output_tokens").asInt()});
        }
        raw.sort((a, b) -> Double.compare(a[0], b[0]));
        var items = new ArrayList<WorkItem>();
        double origin = raw.isEmpty() ? 0 : raw.getFirst()[0];
        for (double[] r : raw) {
            items.add(new WorkItem(Math.min((int) r[1], maxInput), Math.min((int) r[2], maxOutput), r[0] - origin));
        }
        return new Trace(items);
    }
}
