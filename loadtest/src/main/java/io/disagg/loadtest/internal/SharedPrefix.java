package io.disagg.loadtest.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The "system prompts" of a shared-prefix workload: {@code groups} distinct prefixes of about {@code tokens} tokens,
 * each request starting with one of them (chosen at random when there are several). They let a load test measure
 * what a prefix cache saves.
 *
 * <p>The prefixes come from their own generator, seeded from {@code seed} alone, so every load level of a run and
 * every run with the same seed sends the same prefixes.
 *
 * <p>Lengths: a token-id prefix is exactly {@code tokens} ids. A text prefix is {@code tokens - 2} one-token words
 * (at least one) and a newline: with the BOS the router adds, {@code tokens} tokens in typical vocabularies.
 *
 * @param tokens prefix length; {@code 0} for no shared prefix
 * @param groups how many distinct prefixes; {@code 1} when {@code tokens} is 0
 * @param seed where the prefixes come from
 */
public record SharedPrefix(int tokens, int groups, long seed) {

    public static final SharedPrefix NONE = new SharedPrefix(0, 1, 0);

    /**
     * Mixed into the seed so that the prefixes are not the first words the per-level generator (seeded with
     * {@code seed + level}) draws as well.
     */
    private static final long PREFIX_STREAM = 0x9E37_79B9_7F4A_7C15L;

    public SharedPrefix {
        if (tokens < 0) {
            throw new IllegalArgumentException("shared-prefix-tokens: %d (expected: >= 0)".formatted(tokens));
        }
        if (groups < 1 || (tokens == 0 && groups != 1)) {
            throw new IllegalArgumentException("prefix-groups: %d (expected: >= 1, and 1 without a shared prefix)"
                    .formatted(groups));
        }
    }

    public boolean isNone() {
        return tokens == 0;
    }

    /**
     * The text prefixes. Each ends with a newline so that it tokenizes the same whatever follows: BPE and
     * SentencePiece tokenizers never merge a newline with the letters after it (SentencePiece has no piece that
     * contains one, GPT-style pre-tokenizers split it off), whereas a trailing space or a bare word boundary could
     * merge with the next request's first word and change the prefix's last token, and with it every cache block
     * hash. Empty when there is no shared prefix.
     */
    public List<String> texts() {
        var random = random();
        var prefixes = new ArrayList<String>(groups);
        for (int g = 0; g < groups && !isNone(); g++) {
            prefixes.add(Prompts.words(Math.max(1, tokens - 2), random) + "\n");
        }
        return List.copyOf(prefixes);
    }

    /** The token-id prefixes, ids as {@link Prompts#tokenIds} draws them. Empty when there is no shared prefix. */
    public List<int[]> tokenIds(int vocabSize) {
        var random = random();
        var prefixes = new ArrayList<int[]>(groups);
        for (int g = 0; g < groups && !isNone(); g++) {
            prefixes.add(Prompts.tokenIds(tokens, vocabSize, random));
        }
        return List.copyOf(prefixes);
    }

    private SplittableRandom random() {
        return new SplittableRandom(seed ^ PREFIX_STREAM);
    }
}
