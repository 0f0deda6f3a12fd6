package io.disagg.backend.java.internal;

import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvBlockHashes;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvPoolExhaustedException;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.SingleOwnerKvReservation;
import io.disagg.backend.spi.PrefixCacheDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * The Java backend's KV pool: an SPI pool plus a block-granular prefix cache.
 *
 * <p>Every reservation it hands out is made of one-block reservations of the underlying pool ({@link Held#parts()}),
 * so a sequence can give its blocks back one by one. When a sequence closes, its <em>full</em> blocks (all
 * {@code blockTokens} positions written) go into the cache instead of back to the pool, keyed by a chained hash of
 * the token ids ({@link KvBlockHashes}: {@code key(i) = hash(key(i - 1), tokens of block i)}), so equal keys mean equal
 * whole prefixes (each entry also keeps its block's tokens and its parent's key, which are checked on lookup). Full
 * blocks are never written again, so sequences share them without copying. The keys are the ones routers compute from
 * prompts, so {@link #digest} can tell them which prefixes are here.
 *
 * <p>Ownership: an {@link Entry} holds its one-block reservation; {@link Entry#refs} counts the live sequences using
 * it. Entries no sequence uses are <em>evictable</em> and sit in LRU order; {@link #reserve} evicts them (deepest
 * blocks of the least recently used prefixes first) when the underlying pool runs short, so the cache never refuses
 * a reservation that the plain pool would grant. Hence {@link #freeBlocks()} counts them: it means "reservable now".
 *
 * <p>Recency keeps parents ahead of children: a sequence uses an unbroken chain from the first block and gives it back
 * deepest block first (its full blocks that a twin cached first count as given back too), so an entry is never less
 * recently used than any of its cached descendants. Eviction thus trims prefixes from their ends, and a cut-off
 * {@link #digest} still lists only whole prefixes.
 *
 * <p>Thread-safe: one lock guards the cache; the underlying pool has its own, always taken after this one.
 */
final class PrefixCachingKvPool implements KvBlockPool {
  private final KvBlockPool pool;
  private final boolean enabled;
  private final int blockTokens;
  private final Map<Long, Entry> entries = new HashMap<>();
  /** Entries with no user, least recently used first. */
  private final LinkedHashSet<Entry> evictable = new LinkedHashSet<>();
  /** Bumped whenever {@link #entries} gains or loses one; 0 only when the cache is disabled. */
  private long version;
  private boolean closed;

  PrefixCachingKvPool(KvBlockPool pool, boolean enabled) {
    this.pool = pool;
    this.enabled = enabled;
    this.blockTokens = pool.layout().blockTokens();
    // Never 0 (that means "no prefix cache" to routers), and a random start per process: a worker restarted under the
    // same id between two health polls must not repeat the version a router already holds for its old contents.
    this.version = enabled ? java.util.concurrent.ThreadLocalRandom.current().nextLong(1, 1L << 52) : 0;
  }

  /** One cached full block. Guarded by the pool's lock. */
  static final class Entry {
    final long key;
    final long parentKey;
    /** Blocks before this one in its prefix. */
    final int depth;
    final int[] tokens;
    /** Owns the block; closed on eviction. */
    final KvReservation part;
    int refs;

    Entry(long key, long parentKey, int depth, int[] tokens, KvReservation part) {
      this.key = key;
      this.parentKey = parentKey;
      this.depth = depth;
      this.tokens = tokens;
      this.part = part;
    }

    KvBlock block() {
      return part.blocks().getFirst();
    }
  }

  boolean enabled() {
    return enabled;
  }

  @Override
  public KvLayout layout() {
    return pool.layout();
  }

  @Override
  public int totalBlocks() {
    return pool.totalBlocks();
  }

  /** Blocks reservable now: free in the underlying pool plus cached blocks no sequence uses. */
  @Override
  public synchronized int freeBlocks() {
    return pool.freeBlocks() + evictable.size();
  }

  /** Cached blocks no sequence uses (counted in {@link #freeBlocks()}). */
  synchronized int evictableBlocks() {
    return evictable.size();
  }

  /** All cached blocks, in use or not. */
  synchronized int cachedBlocks() {
    return entries.size();
  }

  /**
   * Reserves {@code count} blocks as one-block parts, evicting unused cached blocks first if the pool is short.
   *
   * @throws KvPoolExhaustedException if free plus evictable blocks are fewer; nothing changes then
   */
  @Override
  public synchronized KvReservation reserve(int count) {
    if (count < 0) {
      throw new IllegalArgumentException("blocks: " + count + " (expected: >= 0)");
    }
    if (closed) {
      throw new IllegalStateException("KV pool is closed");
    }
    int free = pool.freeBlocks();
    if (free + evictable.size() < count) {
      throw new KvPoolExhaustedException(count, free + evictable.size(), pool.totalBlocks());
    }
    while (pool.freeBlocks() < count && !evictable.isEmpty()) {
      evict(evictable.getFirst());
    }
    List<KvReservation> parts = new ArrayList<>(count);
    try {
      for (int i = 0; i < count; i++) {
        parts.add(pool.reserve(1));
      }
    } catch (RuntimeException e) {
      parts.forEach(KvReservation::close);
      throw e;
    }
    return new Held(parts);
  }

  /** Evicts every unused cached block; returns how many. */
  synchronized int evictAll() {
    int n = evictable.size();
    while (!evictable.isEmpty()) {
      evict(evictable.getFirst());
    }
    return n;
  }

  private void evict(Entry e) {
    evictable.remove(e);
    entries.remove(e.key, e);
    version++;
    e.part.close();
  }

  /** Changes whenever the set of cached blocks does; 0 when the cache is disabled. */
  synchronized long version() {
    return version;
  }

  /**
   * The keys of all cached blocks, most recently used first, at most {@code maxHashes}: first those live sequences use
   * (in use now, so most recent; shallowest first), then the evictable ones from the most recently released, so the
   * blocks left out of a truncated digest are the ones eviction would take first. A listed block's cached parent is
   * always listed before it. {@link PrefixCacheDigest#NONE} when the cache is disabled.
   *
   * @throws IllegalArgumentException if {@code maxHashes < 0}
   */
  synchronized PrefixCacheDigest digest(int maxHashes) {
    if (maxHashes < 0) {
      throw new IllegalArgumentException("maxHashes: " + maxHashes + " (expected: >= 0)");
    }
    if (!enabled) {
      return PrefixCacheDigest.NONE;
    }
    long[] keys = new long[Math.min(maxHashes, entries.size())];
    int n = 0;
    if (entries.size() > evictable.size()) {
      List<Entry> inUse = new ArrayList<>(entries.size() - evictable.size());
      for (Entry e : entries.values()) {
        if (e.refs > 0) {
          inUse.add(e);
        }
      }
      inUse.sort(Comparator.comparingInt((Entry e) -> e.depth).thenComparingLong(e -> e.key));
      for (int i = 0; i < inUse.size() && n < keys.length; i++) {
        keys[n++] = inUse.get(i).key;
      }
    }
    for (var it = evictable.reversed().iterator(); it.hasNext() && n < keys.length; ) {
      keys[n++] = it.next().key;
    }
    return new PrefixCacheDigest(version, keys, entries.size() > keys.length);
  }

  /**
   * The longest cached chain matching {@code prompt}'s leading full blocks, at most {@code maxBlocks} long, each
   * entry now used once more by the caller, who gives them back through {@link #retire} (or {@link #unuse}).
   */
  synchronized List<Entry> acquirePrefix(int[] prompt, int maxBlocks) {
    if (!enabled || closed) {
      return List.of();
    }
    List<Entry> found = new ArrayList<>();
    long parent = KvBlockHashes.ROOT;
    for (int b = 0; b < maxBlocks; b++) {
      int from = b * blockTokens;
      long key = KvBlockHashes.next(parent, prompt, from, blockTokens);
      Entry e = entries.get(key);
      if (e == null || e.parentKey != parent
          || !Arrays.equals(e.tokens, 0, blockTokens, prompt, from, from + blockTokens)) {
        break;
      }
      if (e.refs++ == 0) {
        evictable.remove(e);
      }
      found.add(e);
      parent = key;
    }
    return found;
  }

  /** Gives back entries from {@link #acquirePrefix} that no sequence took (a failed prefill). */
  synchronized void unuse(List<Entry> shared) {
    for (int i = shared.size() - 1; i >= 0; i--) {
      release(shared.get(i));
    }
  }

  private void release(Entry e) {
    if (--e.refs == 0) {
      if (closed || entries.get(e.key) != e) {
        e.part.close();
      } else {
        evictable.addLast(e);
      }
    }
  }

  /**
   * Ends a sequence's use of its blocks: shared entries lose a user; owned one-block parts holding full blocks join
   * the cache (unless an equal entry is already there); everything else goes back to the pool.
   *
   * @param shared the leading cached entries the sequence used
   * @param owned the sequence's own reservations in block order after {@code shared}: one-block parts from this
   *     pool, or a foreign multi-block reservation (which ends the cacheable chain)
   * @param tokens the sequence's cached token ids; {@code tokens.length / blockTokens} blocks are full
   */
  void retire(List<Entry> shared, List<KvReservation> owned, int[] tokens) {
    List<KvReservation> toClose = new ArrayList<>();
    synchronized (this) {
      int full = tokens.length / blockTokens;
      List<Entry> released = new ArrayList<>();
      long parent = KvBlockHashes.ROOT;
      for (Entry e : shared) {
        parent = e.key;
        released.add(e);
      }
      boolean chain = enabled && !closed;
      int block = shared.size();
      for (KvReservation r : owned) {
        int size = r.blocks().size();
        if (chain && size == 1 && block < full) {
          int from = block * blockTokens;
          long key = KvBlockHashes.next(parent, tokens, from, blockTokens);
          Entry existing = entries.get(key);
          if (existing == null) {
            Entry e = new Entry(key, parent, block, Arrays.copyOfRange(tokens, from, from + blockTokens), r);
            entries.put(key, e);
            version++;
            e.refs = 1;
            released.add(e);
          } else {
            toClose.add(r);
            if (existing.parentKey != parent
                || !Arrays.equals(existing.tokens, 0, blockTokens, tokens, from, from + blockTokens)) {
              chain = false;
            } else {
              // The twin of this block was cached first: use it once more, so that releasing below makes it at least
              // as recent as the blocks cached after it (else the LRU could evict it before its own children).
              if (existing.refs++ == 0) {
                evictable.remove(existing);
              }
              released.add(existing);
            }
          }
          parent = key;
        } else {
          chain = false;
          toClose.add(r);
        }
        block += size;
      }
      // Deepest blocks first, so the LRU evicts a prefix from its end and keeps its start usable longest.
      for (int i = released.size() - 1; i >= 0; i--) {
        release(released.get(i));
      }
    }
    toClose.forEach(KvReservation::close);
  }

  @Override
  public void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      if (!entries.isEmpty()) {
        version++;
      }
      entries.clear();
      evictable.clear();
    }
    pool.close();
  }

  /** A reservation made of one-block parts of the underlying pool. */
  final class Held extends SingleOwnerKvReservation {
    private final List<KvReservation> parts;

    Held(List<KvReservation> parts) {
      super(parts.stream().map(p -> p.blocks().getFirst()).toList());
      this.parts = List.copyOf(parts);
    }

    /** Whether this reservation came from {@code owner}. */
    boolean from(PrefixCachingKvPool owner) {
      return owner == PrefixCachingKvPool.this;
    }

    /** The one-block parts, in order. */
    List<KvReservation> parts() {
      return parts;
    }

    @Override
    protected KvReservation successor() {
      return new Held(parts);
    }

    @Override
    protected void release() {
      parts.forEach(KvReservation::close);
    }
  }
}
