package io.disagg.gguf.internal;

import io.disagg.backend.spi.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.PriorityQueue;

/**
 * SentencePiece (BPE-by-score) tokenization as llama.cpp's {@code llm_tokenizer_spm} does it: spaces become U+2581, a
 * dummy-prefix space starts the text (and any text right after a literal special token), adjacent symbols merge
 * greedily by the highest-scoring resulting piece, and characters outside the vocabulary fall back to
 * {@code <0xNN>} byte tokens (or UNK when there are none).
 *
 * <p>Decoding drops the dummy-prefix space again: the leading space of a normal piece is not rendered when the
 * previous token is {@code -1} (start of text) or a literal special token such as BOS, which makes
 * {@code decode(encode(text))} return {@code text} exactly.
 */
public final class SpmTokenizer implements Tokenizer {
  private static final char SPACE_MARK = '\u2581';
  private static final byte[] UNKNOWN_BYTES = "\u2585".getBytes(StandardCharsets.UTF_8);

  private final Vocab vocab;
  private final float[] scores;
  private final boolean addSpacePrefix;
  private final int[] byteTokens = new int[256];
  private final byte[][] rendered;

  public SpmTokenizer(Vocab vocab, float[] scores, boolean addSpacePrefix) {
    this.vocab = vocab;
    this.scores = scores;
    this.addSpacePrefix = addSpacePrefix;
    Arrays.fill(byteTokens, -1);
    rendered = new byte[vocab.size()][];
    for (int id = 0; id < vocab.size(); id++) {
      String piece = vocab.pieces[id];
      int b = vocab.types[id] == Vocab.BYTE ? parseByte(piece) : -1;
      if (b >= 0 && byteTokens[b] < 0) {
        byteTokens[b] = id;
      }
      rendered[id] = switch (vocab.types[id]) {
        case Vocab.CONTROL, Vocab.UNUSED -> new byte[0];
        case Vocab.UNKNOWN -> UNKNOWN_BYTES;
        case Vocab.USER_DEFINED -> piece.getBytes(StandardCharsets.UTF_8);
        case Vocab.BYTE -> b >= 0 ? new byte[] {(byte) b} : piece.getBytes(StandardCharsets.UTF_8);
        default -> piece.replace(SPACE_MARK, ' ').getBytes(StandardCharsets.UTF_8);
      };
    }
  }

  /** The byte of a {@code <0xNN>} piece, or -1. */
  static int parseByte(String piece) {
    if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') {
      return -1;
    }
    try {
      return Integer.parseInt(piece, 3, 5, 16);
    } catch (NumberFormatException e) {
      return -1;
    }
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
    boolean afterSpecial = true;
    for (Vocab.Fragment fragment : vocab.split(text)) {
      if (fragment.text() == null) {
        out.add(fragment.token());
        afterSpecial = true;
        continue;
      }
      String s = addSpacePrefix && afterSpecial ? " " + fragment.text() : fragment.text();
      tokenize(s.replace(' ', SPACE_MARK), out);
      afterSpecial = false;
    }
    return Vocab.toArray(out);
  }

  private record Bigram(int left, int right, float score, int size) { }

  private void tokenize(String text, List<Integer> out) {
    int n = text.codePointCount(0, text.length());
    int[] start = new int[n];
    int[] length = new int[n];
    int[] prev = new int[n];
    int[] next = new int[n];
    for (int i = 0, at = 0; i < n; i++) {
      start[i] = at;
      length[i] = Character.charCount(text.codePointAt(at));
      at += length[i];
      prev[i] = i - 1;
      next[i] = i + 1 < n ? i + 1 : -1;
    }
    // Highest score first; among equal scores the leftmost, as llama.cpp's comparator orders them.
    PriorityQueue<Bigram> queue = new PriorityQueue<>((a, b) ->
        a.score != b.score ? Float.compare(b.score, a.score) : Integer.compare(a.left, b.left));
    for (int i = 1; i < n; i++) {
      addBigram(text, start, length, i - 1, i, queue);
    }
    while (!queue.isEmpty()) {
      Bigram bigram = queue.poll();
      int left = bigram.left;
      int right = bigram.right;
      // Stale entries: one side was merged away or has grown since the bigram was queued.
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
        addBigram(text, start, length, prev[left], left, queue);
      }
      if (next[left] >= 0) {
        addBigram(text, start, length, left, next[left], queue);
      }
    }
    for (int i = 0; i >= 0 && i < n; i = next[i]) {
      String symbol = text.substring(start[i], start[i] + length[i]);
      Integer id = vocab.ids.get(symbol);
      if (id != null) {
        out.add(id);
        continue;
      }
      for (byte b : symbol.getBytes(StandardCharsets.UTF_8)) {
        int token = byteTokens[b & 0xFF];
        if (token >= 0) {
          out.add(token);
        } else if (vocab.unk >= 0) {
          out.add(vocab.unk);
        }
      }
    }
  }

  private void addBigram(String text, int[] start, int[] length, int left, int right, PriorityQueue<Bigram> queue) {
    int size = length[left] + length[right];
    Integer id = vocab.ids.get(text.substring(start[left], start[left] + size));
    if (id != null) {
      queue.add(new Bigram(left, right, scores[id], size));
    }
  }

  @Override
  public byte[] tokenBytes(int previous, int tokenId) {
    vocab.checkId(tokenId);
    byte[] bytes = rendered[tokenId];
    if (addSpacePrefix && bytes.length > 0 && bytes[0] == ' ' && vocab.types[tokenId] == Vocab.NORMAL
        && (previous == -1 || vocab.splitsText(previous))) {
      return Arrays.copyOfRange(bytes, 1, bytes.length);
    }
    return bytes.clone();
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
    return "SpmTokenizer[" + vocab + "]";
  }
}
