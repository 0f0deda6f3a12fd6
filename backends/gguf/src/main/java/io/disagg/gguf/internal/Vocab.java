package io.disagg.gguf.internal;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The vocabulary shared by both tokenizer algorithms: pieces, their types (llama.cpp's {@code llama_token_type}),
 * the special ids, the literal-special-token splitter and the end-of-generation set. Immutable.
 */
public final class Vocab {
  public static final int NORMAL = 1;
  public static final int UNKNOWN = 2;
  public static final int CONTROL = 3;
  public static final int USER_DEFINED = 4;
  public static final int UNUSED = 5;
  public static final int BYTE = 6;

  /** Texts llama.cpp also treats as end-of-generation when the vocabulary has them. */
  private static final Set<String> EOG_TEXTS = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>",
      "<|endoftext|>", "<|eom_id|>", "<EOT>", "<|end_of_text|>");

  final String[] pieces;
  final int[] types;
  final Map<String, Integer> ids;
  final int bos;
  final int eos;
  final int unk;
  final boolean addBos;
  private final boolean[] endOfGeneration;
  /** Literal special tokens by first char, longest first. */
  private final Map<Character, int[]> specialsByFirstChar;

  /** A fragment of text to tokenize, or (when {@code text} is null) a special token matched literally. */
  record Fragment(String text, int token) { }

  public Vocab(String[] pieces, int[] types, int bos, int eos, int unk, boolean addBos, int[] extraEog) {
    this.pieces = pieces;
    this.types = types.clone();
    this.bos = bos;
    this.eos = eos;
    this.unk = unk;
    this.addBos = addBos;
    this.ids = new HashMap<>(pieces.length * 2);
    for (int i = 0; i < pieces.length; i++) {
      ids.putIfAbsent(pieces[i], i);
    }
    this.endOfGeneration = new boolean[pieces.length];
    if (eos >= 0) {
      endOfGeneration[eos] = true;
    }
    for (int id : extraEog) {
      if (id >= 0 && id < pieces.length) {
        endOfGeneration[id] = true;
      }
    }
    Map<Character, List<Integer>> specials = new HashMap<>();
    for (int i = 0; i < pieces.length; i++) {
      if (EOG_TEXTS.contains(pieces[i])) {
        endOfGeneration[i] = true;
        // As llama.cpp does: some conversions store these as normal tokens, which would render them as text and
        // never match them literally in a chat template.
        this.types[i] = CONTROL;
      }
      if (splitsText(i)) {
        specials.computeIfAbsent(pieces[i].charAt(0), c -> new ArrayList<>()).add(i);
      }
    }
    this.specialsByFirstChar = new HashMap<>();
    specials.forEach((c, list) -> specialsByFirstChar.put(c, list.stream()
        .sorted(Comparator.comparingInt((Integer id) -> -pieces[id].length()).thenComparing(id -> id))
        .mapToInt(Integer::intValue).toArray()));
  }

  public int size() {
    return pieces.length;
  }

  /** Control and user-defined tokens of more than one char are matched literally in input text. */
  boolean splitsText(int id) {
    return id >= 0 && id < types.length && (types[id] == CONTROL || types[id] == USER_DEFINED)
        && pieces[id].length() > 1;
  }

  boolean isEndOfGeneration(int id) {
    return id >= 0 && id < endOfGeneration.length && endOfGeneration[id];
  }

  void checkId(int id) {
    if (id < 0 || id >= pieces.length) {
      throw new IllegalArgumentException("tokenId: %d (expected: 0 to %d)".formatted(id, pieces.length - 1));
    }
  }

  /** Splits text around literal special tokens, longest match first. */
  List<Fragment> split(String text) {
    List<Fragment> out = new ArrayList<>();
    int start = 0;
    int i = 0;
    while (i < text.length()) {
      int[] candidates = specialsByFirstChar.get(text.charAt(i));
      int matched = -1;
      if (candidates != null) {
        for (int id : candidates) {
          if (text.startsWith(pieces[id], i)) {
            matched = id;
            break;
          }
        }
      }
      if (matched < 0) {
        i++;
        continue;
      }
      if (i > start) {
        out.add(new Fragment(text.substring(start, i), -1));
      }
      out.add(new Fragment(null, matched));
      i += pieces[matched].length();
      start = i;
    }
    if (start < text.length()) {
      out.add(new Fragment(text.substring(start), -1));
    }
    return out;
  }

  static int[] toArray(List<Integer> list) {
    return list.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public String toString() {
    return "Vocab[" + pieces.length + " pieces, bos=" + bos + ", eos=" + eos + ", unk=" + unk + ", eog="
        + Arrays.toString(java.util.stream.IntStream.range(0, pieces.length).filter(this::isEndOfGeneration).toArray())
        + "]";
  }
}
