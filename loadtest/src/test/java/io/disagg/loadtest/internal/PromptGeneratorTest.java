package io.disagg.loadtest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.HashSet;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PromptGeneratorTest {

    private static final int VOCAB = 1000;

    private static PromptGenerator text(SharedPrefix prefix) {
        return new PromptGenerator(LoadRunner.PromptFormat.TEXT, 0, prefix);
    }

    private static PromptGenerator tokenIds(SharedPrefix prefix) {
        return new PromptGenerator(LoadRunner.PromptFormat.TOKEN_IDS, VOCAB, prefix);
    }

    private static int words(String s) {
        return s.isEmpty() ? 0 : s.split(" ").length;
    }

    @Test
    void textPrefix_startsEveryPromptAndEndsWithNewline() {
        var prefix = new SharedPrefix(64, 1, 7);
        String shared = prefix.texts().getFirst();
        var prompts = text(prefix);
        var random = new SplittableRandom(1);

        assertThat(shared).endsWith("\n").doesNotContain("  ");
        assertThat(shared.indexOf('\n')).isEqualTo(shared.length() - 1);
        for (int i = 0; i < 50; i++) {
            assertThat(prompts.next(10, random).text()).startsWith(shared);
        }
    }

    @Test
    void textPrefix_isTokensMinusBosAndNewlineInWords_andTheRestIsTheRequestedWords() {
        var prefix = new SharedPrefix(64, 1, 7);
        String shared = prefix.texts().getFirst();

        String prompt = text(prefix).next(10, new SplittableRandom(1)).text();

        // BOS (added by the router) + 62 words + newline = 64 tokens
        assertThat(words(shared.strip())).isEqualTo(62);
        // the prefix already stands in for the BOS, so all 10 requested tokens are words after it
        assertThat(words(prompt.substring(shared.length()))).isEqualTo(10);
    }

    @Test
    void tokenIdPrefix_startsEveryPrompt_andTheRestIsExactlyTheRequestedIds() {
        var prefix = new SharedPrefix(48, 1, 7);
        int[] shared = prefix.tokenIds(VOCAB).getFirst();
        var prompts = tokenIds(prefix);
        var random = new SplittableRandom(1);

        assertThat(shared).hasSize(48);
        for (int length : new int[] {1, 5, 16, 100}) {
            int[] ids = prompts.next(length, random).tokenIds();
            assertThat(ids).hasSize(48 + length);
            assertThat(Arrays.copyOf(ids, 48)).isEqualTo(shared);
            assertThat(Arrays.stream(ids)).allMatch(id -> id >= Prompts.FIRST_PLAIN_TOKEN && id < VOCAB);
        }
    }

    @Test
    void prefixes_dependOnlyOnTheSeed() {
        assertThat(new SharedPrefix(32, 1, 5).texts()).isEqualTo(new SharedPrefix(32, 1, 5).texts());
        assertThat(new SharedPrefix(32, 1, 5).tokenIds(VOCAB).getFirst())
                .isEqualTo(new SharedPrefix(32, 1, 5).tokenIds(VOCAB).getFirst());
        assertThat(new SharedPrefix(32, 1, 5).texts()).isNotEqualTo(new SharedPrefix(32, 1, 6).texts());
        assertThat(new SharedPrefix(32, 1, 5).tokenIds(VOCAB).getFirst())
                .isNotEqualTo(new SharedPrefix(32, 1, 6).tokenIds(VOCAB).getFirst());
    }

    @Test
    void prefixGroups_areDistinct_andEachPromptStartsWithOneOfThem() {
        var prefix = new SharedPrefix(20, 3, 9);
        var shared = prefix.texts();
        var prompts = text(prefix);
        var random = new SplittableRandom(2);
        var used = new HashSet<String>();

        assertThat(new HashSet<>(shared)).hasSize(3);
        for (int i = 0; i < 200; i++) {
            String prompt = prompts.next(4, random).text();
            String group = shared.stream().filter(prompt::startsWith).findFirst().orElseThrow();
            used.add(group);
        }
        assertThat(used).containsExactlyInAnyOrderElementsOf(shared);
    }

    @Test
    void noPrefix_sendsThePromptsOfBefore() {
        var generated = text(SharedPrefix.NONE);
        var random = new SplittableRandom(3);
        var reference = new SplittableRandom(3);

        assertThat(SharedPrefix.NONE.texts()).isEmpty();
        for (int i = 0; i < 10; i++) {
            assertThat(generated.next(12, random).text()).isEqualTo(Prompts.text(12, reference));
        }
        assertThat(tokenIds(SharedPrefix.NONE).next(12, new SplittableRandom(4)).tokenIds())
                .isEqualTo(Prompts.tokenIds(12, VOCAB, new SplittableRandom(4)));
    }

    @Test
    void invalidSharedPrefix_namesTheOption() {
        assertThatThrownBy(() -> new SharedPrefix(-1, 1, 0)).hasMessage(
                "shared-prefix-tokens: -1 (expected: >= 0)");
        assertThatThrownBy(() -> new SharedPrefix(0, 2, 0)).hasMessage(
                "prefix-groups: 2 (expected: >= 1, and 1 without a shared prefix)");
        assertThatThrownBy(() -> new SharedPrefix(16, 0, 0)).hasMessageStartingWith("prefix-groups: 0");
    }
}
