package io.disagg.gguf.internal;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Deterministic vocabularies for synthetic models: merges learned by plain BPE training on a small built-in English
 * text, so that common words become single tokens, then filler pieces (concatenations of learned pieces) up to the
 * requested size. Not a real tokenizer's vocabulary — only a valid, realistic-looking one.
 */
public final class SyntheticVocab {
  public static final int LLAMA_MIN_SIZE = 3 + 256 + 1;
  public static final int GPT2_MIN_SIZE = 256 + 3 + 1;

  private static final String CORPUS = """
      Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her friends.
      One day, she saw a big red ball under a tree. She wanted to play with it, but it was too high. Her mom said,
      "Do not worry, we can get it together." They were happy and they played all day until the sun went down.
      The quick brown fox jumps over the lazy dog. A model reads the prompt, thinks about the question and then
      writes an answer one token at a time. The router sends long prompts to a prefill worker and short ones to a
      decode worker, which keeps the cache warm and the latency low for everyone who is waiting for an answer.
      What is the capital of France? Paris is the capital of France, and Berlin is the capital of Germany.
      Numbers like 1, 2, 3, 10, 42, 100 and 2024 appear in text too, as do words such as because, should, would,
      could, people, little, friend, happy, together, morning, evening, important, information, system, server.
      """;

  /** The llama (SentencePiece) flavour: {@code <unk> <s> </s>}, 256 byte tokens, then pieces by falling score. */
  public record Llama(String[] tokens, float[] scores, int[] types) { }

  /** The GPT-2 flavour: 256 byte characters, learned merges, fillers, then three control tokens. */
  public record Gpt2(String[] tokens, int[] types, String[] merges, int endOfText, int imStart, int imEnd) { }

  private SyntheticVocab() {
  }

  public static Llama llama(int size) {
    if (size < LLAMA_MIN_SIZE) {
      throw new IllegalArgumentException("vocabSize: %d (expected: >= %d for the llama tokenizer)"
          .formatted(size, LLAMA_MIN_SIZE));
    }
    List<String> tokens = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
    List<Integer> types = new ArrayList<>(List.of(Vocab.UNKNOWN, Vocab.CONTROL, Vocab.CONTROL));
    for (int b = 0; b < 256; b++) {
      tokens.add("<0x%02X>".formatted(b));
      types.add(Vocab.BYTE);
    }
    Set<String> seen = new HashSet<>(tokens);
    List<String> pieces = new ArrayList<>();
    pieces.add("\u2581");
    for (char c = '!'; c <= '~'; c++) {
      pieces.add(String.valueOf(c));
    }
    Map<List<String>, Integer> words = new LinkedHashMap<>();
    for (String word : CORPUS.strip().split("\\s+")) {
      List<String> symbols = new ArrayList<>();
      symbols.add("\u2581");
      word.codePoints().forEach(cp -> symbols.add(new String(Character.toChars(cp))));
      words.merge(symbols, 1, Integer::sum);
    }
    int room = size - tokens.size();
    List<String> learned = new ArrayList<>();
    for (String[] merge : train(words, room)) {
      learned.add(merge[0] + merge[1]);
    }
    pieces.addAll(learned);
    List<String> normal = new ArrayList<>();
    for (String piece : pieces) {
      if (normal.size() < room && seen.add(piece)) {
        normal.add(piece);
      }
    }
    fill(normal, learned.isEmpty() ? pieces : learned, seen, room, null);
    float[] scores = new float[size];
    int[] typeArray = new int[size];
    String[] tokenArray = new String[size];
    for (int i = 0; i < size; i++) {
      boolean special = i < tokens.size();
      tokenArray[i] = special ? tokens.get(i) : normal.get(i - tokens.size());
      typeArray[i] = special ? types.get(i) : Vocab.NORMAL;
      // Earlier (more frequent) pieces score higher, so they merge first, as in trained SentencePiece models.
      scores[i] = special ? 0f : -(i - tokens.size());
    }
    return new Llama(tokenArray, scores, typeArray);
  }

  public static Gpt2 gpt2(int size) {
    if (size < GPT2_MIN_SIZE) {
      throw new IllegalArgumentException("vocabSize: %d (expected: >= %d for the gpt2 tokenizer)"
          .formatted(size, GPT2_MIN_SIZE));
    }
    List<String> tokens = new ArrayList<>();
    for (int b = 0; b < 256; b++) {
      tokens.add(String.valueOf(ByteUnicode.charOf(b)));
    }
    Set<String> seen = new HashSet<>(tokens);
    Map<List<String>, Integer> words = new LinkedHashMap<>();
    Matcher m = Pattern.compile(BpeTokenizer.GPT2, Pattern.UNICODE_CHARACTER_CLASS).matcher(CORPUS.strip());
    while (m.find()) {
      String mapped = ByteUnicode.encode(m.group().getBytes(StandardCharsets.UTF_8));
      List<String> symbols = new ArrayList<>();
      for (char c : mapped.toCharArray()) {
        symbols.add(String.valueOf(c));
      }
      words.merge(symbols, 1, Integer::sum);
    }
    int room = size - 256 - 3;
    List<String> merges = new ArrayList<>();
    List<String> learned = new ArrayList<>();
    for (String[] merge : train(words, room)) {
      String piece = merge[0] + merge[1];
      merges.add(merge[0] + " " + merge[1]);
      if (seen.add(piece)) {
        learned.add(piece);
      }
    }
    List<String> normal = new ArrayList<>(learned);
    fill(normal, learned.isEmpty() ? List.copyOf(tokens) : learned, seen, room, merges);
    tokens.addAll(normal);
    int endOfText = tokens.size();
    tokens.addAll(List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>"));
    int[] types = new int[size];
    for (int i = 0; i < size; i++) {
      types[i] = i >= endOfText ? Vocab.CONTROL : Vocab.NORMAL;
    }
    return new Gpt2(tokens.toArray(String[]::new), types, merges.toArray(String[]::new), endOfText, endOfText + 1,
        endOfText + 2);
  }

  /** Concatenations of {@code parts}, in a fixed order, until {@code out} holds {@code room} pieces. */
  private static void fill(List<String> out, List<String> parts, Set<String> seen, int room, List<String> merges) {
    for (int i = 0; out.size() < room; i++) {
      for (int j = 0; j < parts.size() && out.size() < room; j++) {
        String piece = parts.get(i % parts.size()) + parts.get(j);
        if (seen.add(piece)) {
          out.add(piece);
          if (merges != null) {
            merges.add(parts.get(i % parts.size()) + " " + parts.get(j));
          }
        }
      }
      if (i > room + parts.size()) {
        throw new IllegalStateException("cannot generate %d distinct pieces".formatted(room));
      }
    }
  }

  /** Plain BPE training: repeatedly merge the most frequent adjacent pair (ties: lexically smallest). */
  private static List<String[]> train(Map<List<String>, Integer> words, int maxMerges) {
    List<List<String>> symbols = new ArrayList<>();
    List<Integer> counts = new ArrayList<>();
    words.forEach((w, c) -> {
      symbols.add(new ArrayList<>(w));
      counts.add(c);
    });
    List<String[]> merges = new ArrayList<>();
    while (merges.size() < maxMerges) {
      Map<String, Integer> pairs = new LinkedHashMap<>();
      for (int w = 0; w < symbols.size(); w++) {
        List<String> s = symbols.get(w);
        for (int i = 0; i + 1 < s.size(); i++) {
          pairs.merge(s.get(i) + "\u0000" + s.get(i + 1), counts.get(w), Integer::sum);
        }
      }
      String best = null;
      int bestCount = 0;
      for (Map.Entry<String, Integer> e : pairs.entrySet()) {
        if (e.getValue() > bestCount || (e.getValue() == bestCount && e.getKey().compareTo(best) < 0)) {
          best = e.getKey();
          bestCount = e.getValue();
        }
      }
      if (best == null) {
        break;
      }
      String[] pair = best.split("\u0000", 2);
      merges.add(pair);
      for (List<String> s : symbols) {
        for (int i = 0; i + 1 < s.size(); i++) {
          if (s.get(i).equals(pair[0]) && s.get(i + 1).equals(pair[1])) {
            s.set(i, pair[0] + pair[1]);
            s.remove(i + 1);
          }
        }
      }
    }
    return merges;
  }
}
