package io.disagg.loadtest;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A <b>simulated</b> block prefix cache for the simulated servers: it remembers every prompt it has seen in whole
 * blocks of {@link #BLOCK} tokens, as the workers do, and answers how many leading tokens of a new prompt were
 * already there. Text is "tokenized" as BOS, then every run of non-space characters and every newline, one token
 * each, which is what the load generator's one-token words are meant to be in a real vocabulary. Thread-safe.
 */
final class SimulatedPrefixCache {

    static final int BLOCK = 16;

    private static final Pattern TOKEN = Pattern.compile("\n|[^\\s]+");

    private final Set<List<String>> blocks = new HashSet<>();

    /** BOS, then one token per word and per newline. */
    static List<String> tokens(String text) {
        var tokens = new ArrayList<String>();
        tokens.add("<s>");
        TOKEN.matcher(text).results().forEach(m -> tokens.add(m.group()));
        return tokens;
    }

    static List<String> tokens(Iterable<Integer> ids) {
        var tokens = new ArrayList<String>();
        ids.forEach(id -> tokens.add(Integer.toString(id)));
        return tokens;
    }

    /** Leading tokens of {@code prompt} in blocks seen before; then remembers the prompt's whole blocks. */
    synchronized int cachedThenRemember(List<String> prompt) {
        int cached = 0;
        boolean hitting = true;
        for (int end = BLOCK; end <= prompt.size(); end += BLOCK) {
            // keyed by the whole prefix up to the block's end, as chained block hashes are
            boolean seen = !blocks.add(List.copyOf(prompt.subList(0, end)));
            if (hitting && seen) {
                cached = end;
            } else {
                hitting = false;
            }
        }
        return cached;
    }
}
