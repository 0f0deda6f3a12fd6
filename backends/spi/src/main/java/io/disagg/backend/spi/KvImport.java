package io.disagg.backend.spi;

import java.util.Objects;

/**
 * Describes a KV cache that has been written into a {@link KvReservation} and is offered for import.
 *
 * @param requestId the request the cache belongs to
 * @param fingerprint model and layout the sender says produced it; import refuses any difference from the backend's
 * @param tokens the token ids whose KV the cache holds (its length is the cached token count)
 */
public record KvImport(String requestId, ModelFingerprint fingerprint, int[] tokens) {
  public KvImport {
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(fingerprint, "fingerprint");
    Objects.requireNonNull(tokens, "tokens");
    if (tokens.length == 0) {
      throw new IllegalArgumentException("tokens: empty (expected: at least one cached token)");
    }
    tokens = tokens.clone();
  }

  @Override
  public int[] tokens() {
    return tokens.clone();
  }
}
