package io.disagg.gguf.internal;

import io.disagg.backend.spi.Tokenizer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2 style byte-level BPE: literal special tokens are split out, the rest is cut into words by the
 * pre-tokenizer regex chosen from {@code tokenizer.ggml.pre}, each word's UTF-8 bytes are mapped through
 * {@link ByteUnicode} and merged pair by pair, lowest merge rank first, as in llama.cpp's {@code llm_tokenizer_bpe}.
 */
public final class BpeTokenizer implements Tokenizer {
  /** GPT-2's original pattern. */
  static final String GPT2 =
      "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";
  /** Llama 3: case-insensitive contractions, digits in groups of up to three, newlines kept apart. */
  static final String LLAMA3 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
  /** Qwen2: as Llama 3 but every digit on its own. */
  static final String QWEN2 = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
      + "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

  private final Vocab vocab;
  private final Map<String, Integer> mergeRanks;
  private final Pattern pretokenizer;
  private final String pre;
  /** Llama 3 style: a word that is itself a token is not merged (llama.cpp's {@code ignore_merges}). */
  private final boolean ignoreMerges;
  private final byte[][] rendered;

  /**
   * @param merges the {@code "left right"} merges in rank order
   * @param pre    {@code tokenizer.ggml.pre}, or null; unknown names use the GPT-2 pattern
   */
  public BpeTokenizer(Vocab vocab, String[] merges, String pre) {
    this.vocab = vocab;
    this.mergeRanks = new HashMap<>(merges.length * 2);
    for (int i = 0; i < merges.length; i++) {
      mergeRanks.putIfAbsent(merges[i], i);
    }
    this.pre = pre == null ? "default" : pre;
    this.pretokenizer = Pattern.compile(patternFor(this.pre), Pattern.UNICODE_CHARACTER_CLASS);
    this.ignoreMerges = patternFor(this.pre).equals(LLAMA3);
    rendered = new byte[vocab.size()][];
    for (int id = 0; id < vocab.size(); id++) {
      String piece = vocab.pieces[id];
      rendered[id] = switch (vocab.types[id]) {
        case Vocab.CONTROL, Vocab.UNUSED -> new byte[0];
        case Vocab.USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
        default -> unmap(piece);
      };
    }
  }

  /**
   * The pre-tokenizer regex for a {@code tokenizer.ggml.pre} name. Names without a pattern of their own here (and a
   * missing key, which llama.cpp treats as its multi-regex "default") use GPT-2's pattern: close for most English
   * text, but not identical on digits and punctuation runs.
   */
  static String patternFor(String pre) {
    return switch (pre) {
      case "llama3", "llama-v3", "llama-bpe", "smaug-bpe", "dbrx", "falcon3" -> LLAMA3;
      case "qwen2", "deepseek-r1-qwen" -> QWEN2;
      default -> GPT2;
    };
  }

  private static byte[] unmap(String piece) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
    for (int i = 0; i < piece.length(); ) {
      int cp = piece.codePointAt(i);
      int b = cp < Character.MIN_SUPPLEMENTARY_CODE_POINT ? ByteUnicode.byteOf((char) cp) : -1;
      if (b >= 0) {
        out.write(b);
      } else {
        out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
      }
      i += Character.charCount(cp);
    }
    return out.toByteArray();
  }

  @Override
  public int vocabSize() {
    return vocab.size();
  }

  @Override
  public int bosId() {
    return vocab.bos;
  }

  @Override
  public int eosId() {
    return vocab.eos;
  }

  @Override
  public boolean addBos() {
    return vocab.addBos;
  }

  @Override
  public int[] encode(String text) {
    List<Integer> out = new ArrayList<>();
    for (Vocab.Fragment fragment : vocab.split(text)) {
      if (fragment.text() == null) {
        out.add(fragment.token());
        continue;
      }
      Matcher words = pretokenizer.matcher(fragment.text());
      while (words.find()) {
        bpe(ByteUnicode.encode(words.group().getBytes(StandardCharsets.UTF_8)), out);
      }
    }
    return Vocab.toArray(out);
  }

  private record Bigram(int left, int right, int rank, int size) { }

  /**
   * Merges one pre-tokenized word. Symbols form a linked list over the word; candidate pairs wait in a queue by rank
   * (then leftmost), and a popped pair whose sides have changed since it was queued is skipped, so a long word costs
   * O(n log n) rather than a rescan per merge.
   */
  private void bpe(String word, List<Integer> out) {
    if (ignoreMerges) {
      Integer whole = vocab.ids.get(word);
      if (whole != null) {
        out.add(whole);
        return;
      }
    }
    int n = word.length();
    int[] length = new int[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      length[i] = 1;
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
        a.rank != b.rank ? Integer.compare(a.rank, b.rank) : Integer.compare(a.left, b.left));
    for (int i = 1; i < n; i++) {
      addBigram(word, length, i - 1, i, queue);
    }
    while (!queue.isEmpty()) {
      Bigram bigram = queue.poll();
      int left = bigram.left;
      int right = bigram.right;
      if (length[left] == 0 || length[right] == 0 || length[left] + length[right] != bigram.size) {
        continue;
      }
      length[left] += length[right];
      length[right] = 0;
      next[left] = next[right];
      if (next[right] >= 0) {
        prev[next[right]] = left;
      }
      if (prev[left] >= 0) {
        addBigram(word, length, prev[left], left, queue);
      }
      if (next[left] >= 0) {
        addBigram(word, length, left, next[left], queue);
      }
    }
    for (int i = 0; i >= 0 && i < n; i = next[i]) {
      String symbol = word.substring(i, i + length[i]);
      Integer id = vocab.ids.get(symbol);
      if (id != null) {
        out.add(id);
        continue;
      }
      // Only possible with a vocabulary that lacks some byte characters.
      for (int c = 0; c < symbol.length(); c++) {
        Integer single = vocab.ids.get(String.valueOf(symbol.charAt(c)));
        if (single != null) {
          out.add(single);
        } else if (vocab.unk >= 0) {
          out.add(vocab.unk);
        }
      }
    }
  }

  private void addBigram(String word, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
    String pair = word.substring(left, left + length[left]) + " " + word.substring(right, right + length[right]);
    Integer rank = mergeRanks.get(pair);
    if (rank != null) {
      queue.add(new Bigram(left, right, rank, length[left] + length[right]));
    }
  }

  @Override
  public byte[] tokenBytes(int previous, int tokenId) {
    vocab.checkId(tokenId);
    return rendered[tokenId].clone();
  }

  @Override
  public String piece(int tokenId) {
    vocab.checkId(tokenId);
    return vocab.pieces[tokenId];
  }

  @Override
  public boolean isEndOfGeneration(int tokenId) {
    return vocab.isEndOfGeneration(tokenId);
  }

  @Override
  public boolean isSpecial(int tokenId) {
    vocab.checkId(tokenId);
    return vocab.types[tokenId] == Vocab.CONTROL;
  }

  @Override
  public String toString() {
    return "BpeTokenizer[" + vocab + ", pre=" + pre + "]";
  }
}
