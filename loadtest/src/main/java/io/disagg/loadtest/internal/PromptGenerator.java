package io.disagg.loadtest.internal;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Makes each request's prompt: the {@link SharedPrefix} when there is one, then a random part of the length the
 * workload drew. Workload lengths count only that part; a request with a shared prefix is {@code prefix.tokens()}
 * longer.
 */
final class PromptGenerator {

    private final LoadRunner.PromptFormat format;
    private final int vocabSize;
    private final List<String> textPrefixes;
    private final List<int[]> idPrefixes;

    /** @param vocabSize ids are drawn below it; only read for {@link LoadRunner.PromptFormat#TOKEN_IDS} */
    PromptGenerator(LoadRunner.PromptFormat format, int vocabSize, SharedPrefix prefix) {
        this.format = format;
        this.vocabSize = vocabSize;
        boolean text = format == LoadRunner.PromptFormat.TEXT;
        this.textPrefixes = text ? prefix.texts() : List.of();
        this.idPrefixes = text ? List.of() : prefix.tokenIds(vocabSize);
    }

    /** A prompt whose part after the shared prefix is about {@code tokens} long (exactly, for token ids). */
    Target.Prompt next(int tokens, RandomGenerator random) {
        int prefixes = Math.max(textPrefixes.size(), idPrefixes.size());
        int group = prefixes > 1 ? random.nextInt(prefixes) : 0;
        if (format == LoadRunner.PromptFormat.TEXT) {
            if (textPrefixes.isEmpty()) {
                return new Target.Prompt(Prompts.text(tokens, random), null);
            }
            // the prefix already holds the BOS's place, so the part after it gets all its tokens as words
            return new Target.Prompt(textPrefixes.get(group) + Prompts.words(tokens, random), null);
        }
        int[] body = Prompts.tokenIds(tokens, vocabSize, random);
        if (idPrefixes.isEmpty()) {
            return new Target.Prompt(null, body);
        }
        int[] prefix = idPrefixes.get(group);
        int[] ids = new int[prefix.length + body.length];
        System.arraycopy(prefix, 0, ids, 0, prefix.length);
        System.arraycopy(body, 0, ids, prefix.length, body.length);
        return new Target.Prompt(null, ids);
    }
}
