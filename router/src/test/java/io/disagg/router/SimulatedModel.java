package io.disagg.router;

import java.util.List;
import java.util.Optional;

/**
 * The simulated model the simulated workers "run": a deterministic function from prompt ids to generated tokens, so
 * a test knows the exact output of any request in either serve mode.
 */
final class SimulatedModel {
  static final String SHA256 = "ab".repeat(32);
  static final String FINGERPRINT = SHA256 + "/sim-f32-l2-h4-d16-b16";
  static final int CONTEXT_LENGTH = 512;

  private SimulatedModel() {}

  static ServedModel served() {
    return new ServedModel("simulated", "sim", CONTEXT_LENGTH, SHA256, Optional.empty(), new SimulatedTokenizer());
  }

  /** The {@code index}-th generated token (0 = the first, which a prefill samples): a lower-case letter. */
  static int token(List<Integer> prompt, int index) {
    long sum = 0;
    for (int id : prompt) {
      sum += id;
    }
    return 'a' + (int) ((sum + 7L * index) % 26);
  }

  /** The text of the first {@code count} generated tokens. */
  static String text(List<Integer> prompt, int count) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < count; i++) {
      out.append((char) token(prompt, i));
    }
    return out.toString();
  }

  /** The prompt ids a text prompt tokenizes to with {@link SimulatedTokenizer} (BOS first). */
  static List<Integer> promptIds(String text) {
    int[] ids = new SimulatedTokenizer().encodePrompt(text);
    return java.util.Arrays.stream(ids).boxed().toList();
  }
}
