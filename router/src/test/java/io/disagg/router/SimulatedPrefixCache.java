package io.disagg.router;

import io.disagg.backend.spi.KvBlockHashes;
import io.disagg.proto.v1.HealthRequest;
import io.disagg.proto.v1.PrefixCacheDigest;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A simulated worker's prefix cache as its Health answers report it: a test says which prompts the worker holds, and
 * the digest follows the protocol (hashes left out when the router already knows the version).
 */
final class SimulatedPrefixCache {
  static final int BLOCK_TOKENS = 16;

  private volatile long version;
  private volatile long[] hashes = new long[0];
  /** The known version each Health request carried, in order. */
  final List<Long> knownVersions = new CopyOnWriteArrayList<>();

  /** The worker now holds the full blocks of {@code prompt} (router token ids, BOS included) and nothing else. */
  synchronized void holds(int[] prompt) {
    hashes = KvBlockHashes.chain(prompt, BLOCK_TOKENS, Integer.MAX_VALUE);
    version++;
  }

  /** The worker's cache is now empty. */
  synchronized void clear() {
    hashes = new long[0];
    version++;
  }

  /** Token ids the router gives a text prompt with the simulated byte-level tokenizer: BOS, then the bytes. */
  static int[] routerTokens(String text) {
    int[] body = new SimulatedTokenizer().encode(text);
    int[] ids = new int[body.length + 1];
    ids[0] = SimulatedTokenizer.BOS;
    System.arraycopy(body, 0, ids, 1, body.length);
    return ids;
  }

  synchronized PrefixCacheDigest digest(HealthRequest request) {
    knownVersions.add(request.getKnownPrefixCacheVersion());
    PrefixCacheDigest.Builder d = PrefixCacheDigest.newBuilder().setVersion(version);
    if (version != 0 && request.getKnownPrefixCacheVersion() != version) {
      d.setIncluded(true);
      for (long h : hashes) {
        d.addBlockHashes(h);
      }
    }
    return d.build();
  }
}
