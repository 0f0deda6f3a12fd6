package io.disagg.decode.testing;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
import java.util.ArrayList;
import java.util.List;

/** Drives a backend directly, one request at a time: what a worker's output must equal. */
public final class Reference {
  private Reference() {}

  /**
   * Generates up to {@code maxTokens} tokens (counting the first), stopping before an end-of-generation token or at
   * the context length, as the workers do.
   */
  public static List<Integer> generate(Backend backend, int[] prompt, SamplingParams sampling, int maxTokens) {
    int ctx = backend.model().contextLength();
    PrefillResult r = backend.prefill(new PrefillRequest("reference", prompt, sampling, maxTokens));
    List<Integer> out = new ArrayList<>();
    try (Sequence seq = r.sequence()) {
      SampledToken t = r.firstToken();
      while (true) {
        if (backend.tokenizer().isEndOfGeneration(t.tokenId())) {
          return out;
        }
        out.add(t.tokenId());
        if (out.size() >= maxTokens || seq.cachedTokens() >= ctx) {
          return out;
        }
        t = backend.decode(List.of(new DecodeSlot(seq, t.tokenId(), sampling))).getFirst();
      }
    }
  }
}
