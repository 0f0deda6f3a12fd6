package io.disagg.gguf.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BpeTokenizerTest {

  @Test
  void pretokenize_gpt2_splitsContractionsWordsNumbersAndSpaces() {
    assertThat(split("default", "Hello world's 12345  end!!\n"))
        .containsExactly("Hello", " world", "'s", " 12345", " ", " end", "!!", "\n");
  }

  @Test
  void pretokenize_llama3_groupsDigitsInThreesAndKeepsCaseInsensitiveContractions() {
    assertThat(split("llama-bpe", "I'M 12345 ok\n\nyes"))
        .containsExactly("I", "'M", " ", "123", "45", " ok", "\n\n", "yes");
  }

  @Test
  void pretokenize_qwen2_splitsEveryDigit() {
    assertThat(split("qwen2", "x 2024")).containsExactly("x", " ", "2", "0", "2", "4");
  }

  @Test
  void pretokenize_unicodeLettersAndSpaces_areClassifiedAsUnicode() {
    // U+3000 is whitespace and 日本 are letters only with Unicode character classes.
    assertThat(split("default", "日本\u3000語")).containsExactly("日本", "\u3000", "語");
  }

  @Test
  void encode_mergesByRankNotByLength() {
    String[] pieces = new String[256 + 3];
    int[] types = new int[pieces.length];
    for (int b = 0; b < 256; b++) {
      pieces[b] = String.valueOf(ByteUnicode.charOf(b));
      types[b] = Vocab.NORMAL;
    }
    pieces[256] = "ab";
    pieces[257] = "bc";
    pieces[258] = "abc";
    types[256] = types[257] = types[258] = Vocab.NORMAL;
    Vocab vocab = new Vocab(pieces, types, -1, -1, -1, false, new int[0]);
    // "b c" ranks first, so "abc" becomes a + bc; "ab c" would need the lower-ranked merge.
    BpeTokenizer bcFirst = new BpeTokenizer(vocab, new String[] {"b c", "a b"}, null);
    assertThat(bcFirst.encode("abcd")).containsExactly('a', 257, 'd');
    BpeTokenizer abFirst = new BpeTokenizer(vocab, new String[] {"a b", "ab c"}, null);
    assertThat(abFirst.encode("abcd")).containsExactly(258, 'd');
    assertThat(new String(abFirst.tokenBytes(-1, 258), java.nio.charset.StandardCharsets.UTF_8)).isEqualTo("abc");
  }

  @Test
  void encode_veryLongWord_staysFastAndMergesLeftmostFirst() {
    String[] pieces = new String[257];
    int[] types = new int[pieces.length];
    for (int b = 0; b < 256; b++) {
      pieces[b] = String.valueOf(ByteUnicode.charOf(b));
      types[b] = Vocab.NORMAL;
    }
    pieces[256] = "aa";
    types[256] = Vocab.NORMAL;
    BpeTokenizer tokenizer = new BpeTokenizer(new Vocab(pieces, types, -1, -1, -1, false, new int[0]),
        new String[] {"a a"}, null);
    // One pre-tokenizer word of 100,001 letters: a rescan per merge would take minutes.
    int[] ids = tokenizer.encode("a".repeat(100_001));
    assertThat(ids).hasSize(50_001);
    assertThat(ids[0]).isEqualTo(256);
    assertThat(ids[ids.length - 1]).isEqualTo('a');
    assertThat(tokenizer.decode(ids)).hasSize(100_001);
  }

  @Test
  void byteUnicode_mapsEveryByteReversibly() {
    for (int b = 0; b < 256; b++) {
      assertThat(ByteUnicode.byteOf(ByteUnicode.charOf(b))).isEqualTo(b);
    }
    assertThat(ByteUnicode.charOf(' ')).isEqualTo('\u0120');
    assertThat(ByteUnicode.charOf('\n')).isEqualTo('\u010A');
    assertThat(ByteUnicode.charOf('A')).isEqualTo('A');
  }

  private static List<String> split(String pre, String text) {
    Matcher m = Pattern.compile(BpeTokenizer.patternFor(pre), Pattern.UNICODE_CHARACTER_CLASS).matcher(text);
    List<String> out = new ArrayList<>();
    while (m.find()) {
      out.add(m.group());
    }
    return out;
  }
}
