package io.disagg.loadtest.internal;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Builds prompts of a target token length without a tokenizer. Text prompts are common English words that are one
 * token in typical BPE vocabularies, drawn at random so that requests share no long prefix (which a prefix cache
 * would turn into unrealistically fast prefills) unless a {@link SharedPrefix} asks for one; one token is left for
 * the BOS the router adds. The count is approximate; reports use the prompt tokens the server returns in usage.
 */
public final class Prompts {

    static final List<String> WORDS = List.of("the", "time", "people", "way", "day", "man", "thing", "woman", "life",
            "child", "world", "school", "state", "family", "group", "country", "problem", "hand", "part", "place",
            "case", "week", "company", "system", "program", "question", "work", "number", "night", "point", "home",
            "water");

    /** Lowest token id used by token-id prompts; keeps clear of BOS, EOS and other special tokens. */
    static final int FIRST_PLAIN_TOKEN = 256;

    private Prompts() {
    }

    /** About {@code tokens} tokens once the router adds BOS: {@code tokens - 1} words, at least one. */
    public static String text(int tokens, RandomGenerator random) {
        return words(Math.max(1, tokens - 1), random);
    }

    /** {@code count} random one-token words separated by single spaces. */
    static String words(int count, RandomGenerator random) {
        var sb = new StringBuilder(count * 6);
        for (int i = 0; i < count; i++) {
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(WORDS.get(random.nextInt(WORDS.size())));
        }
        return sb.toString();
    }

    /** Exactly {@code tokens} random ids in {@code [256, min(vocab, 32000))}. */
    public static int[] tokenIds(int tokens, int vocabSize, RandomGenerator random) {
        int hi = Math.min(vocabSize, 32_000);
        if (hi <= FIRST_PLAIN_TOKEN) {
            throw new IllegalArgumentException("vocabSize: %d (expected: > %d)".formatted(vocabSize,
                    FIRST_PLAIN_TOKEN));
        }
        int[] ids = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            ids[i] = random.nextInt(FIRST_PLAIN_TOKEN, hi);
        }
        return ids;
    }
}
