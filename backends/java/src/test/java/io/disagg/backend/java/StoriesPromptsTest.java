package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Greedy continuations of real prompts: the same across runs and thread counts, and TinyStories-like text. */
class StoriesPromptsTest {
  private static final int STEPS = 48;

  private static int[] continuation(JavaBackend backend, int[] prompt) {
    PrefillResult r = backend.prefill(new PrefillRequest("p", prompt, SamplingParams.greedy(), STEPS));
    int[] out = new int[STEPS];
    out[0] = r.firstToken().tokenId();
    for (int i = 1; i < STEPS; i++) {
      out[i] = backend.decode(List.of(new DecodeSlot(r.sequence(), out[i - 1], SamplingParams.greedy())))
          .getFirst().tokenId();
    }
    r.sequence().close();
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"Once upon a time", "Lily wanted to"})
  void greedyContinuation_identicalAcrossRunsAndThreadCounts_andReadsLikeAStory(String text) {
    int[] single;
    int[] again;
    int[] twoThreads;
    String story;
    try (JavaBackend one = TestModels.open(TestModels.stories260K(), 1, 16)) {
      int[] prompt = one.tokenizer().encodePrompt(text);
      assertThat(prompt[0]).isEqualTo(one.tokenizer().bosId());
      single = continuation(one, prompt);
      again = continuation(one, prompt);
      story = one.tokenizer().decode(concat(prompt, single));
      try (JavaBackend two = TestModels.open(TestModels.stories260K(), 2, 16)) {
        twoThreads = continuation(two, prompt);
      }
    }
    System.out.println(text + " -> " + Arrays.toString(single));
    System.out.println("text: " + story);
    assertThat(again).containsExactly(single);
    assertThat(twoThreads).containsExactly(single);
    assertThat(Arrays.stream(single).boxed().toList()).allSatisfy(t -> assertThat(t).isBetween(3, 511));
    assertThat(story).startsWith(text);
    // TinyStories prose: mostly lower-case words separated by spaces, with sentence punctuation.
    String generated = story.substring(text.length());
    assertThat(generated.split(" ")).hasSizeGreaterThan(15);
    assertThat(generated).containsPattern("[.,!\"]");
    assertThat(generated.chars().filter(c -> Character.isLetter(c) || c == ' ').count())
        .isGreaterThan(generated.length() * 3L / 4);
  }

  private static int[] concat(int[] a, int[] b) {
    int[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
