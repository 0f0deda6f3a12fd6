package io.disagg.backend.spi;

import java.util.List;

/**
 * One sequence whose KV cache lives in a backend: created by {@link Backend#prefill} or {@link Backend#importKv}, grown
 * by {@link Backend#decode}, ended by {@link #close()}, which returns its blocks to the pool. Closing is thread-safe
 * and idempotent; a closed sequence can no longer be decoded or exported.
 */
public interface Sequence extends AutoCloseable {

  /** Caller-supplied request id. */
  String requestId();

  /** Token positions whose keys and values are in the cache. */
  int cachedTokens();

  /** Number of prompt tokens the sequence started with. */
  int promptTokens();

  /**
   * The tokens whose KV is cached, in order (prompt, then every token fed back during decode). A copy.
   */
  int[] tokens();

  /** The blocks holding the cache, in order; the last one may be partly filled. */
  List<KvBlock> blocks();

  boolean isClosed();

  /** Frees the sequence's KV blocks. Idempotent and thread-safe. */
  @Override
  void close();
}
