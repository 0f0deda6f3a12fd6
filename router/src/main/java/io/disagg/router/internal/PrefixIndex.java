package io.disagg.router.internal;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.disagg.backend.spi.KvBlockHashes;
import io.disagg.proto.v1.PrefixCacheDigest;
import io.disagg.router.PrefixCacheIndex;
import io.disagg.router.WorkerSnapshot;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * Which workers hold which KV blocks in their prefix caches, learned from the digests in their Health answers: a
 * bounded Caffeine cache from block hash ({@link KvBlockHashes}) to the ids of the workers holding it.
 *
 * <p>Bounded twice: at most {@code maxBlocks} hashes in all (Caffeine evicts the least valuable, after which the router
 * simply believes nobody holds that block: a missed hit, never a wrong one), and at most {@code maxHashesPerWorker}
 * hashes taken from one digest. A lookup walks the prompt's block chain and stops at the first block the worker lacks,
 * because a worker can reuse only an unbroken prefix.
 *
 * <p>What the index says may lag the worker by one health interval; the worker's own cache lookup is authoritative, so
 * a stale entry costs a less good choice, never a wrong answer. Thread-safe: digests arrive on gRPC threads (applied one
 * at a time; they come once per health interval) while lookups run on others without locking.
 */
public final class PrefixIndex implements PrefixCacheIndex {
  /** Default bound on indexed block hashes: 8 MiB of hashes before per-entry overhead. */
  public static final long DEFAULT_MAX_BLOCKS = 1 << 20;
  /** Hashes taken from one worker's digest at most; the rest of a longer digest is ignored. */
  public static final int MAX_HASHES_PER_WORKER = 1 << 16;

  private final Cache<Long, Set<String>> workersByBlock;
  private final ConcurrentMap<String, Known> byWorker = new ConcurrentHashMap<>();

  /** What the index last took from one worker: its digest version and hashes, sorted and distinct. */
  private record Known(long version, long[] hashes) {}

  public PrefixIndex(long maxBlocks) {
    if (maxBlocks < 1) {
      throw new IllegalArgumentException("maxBlocks: " + maxBlocks + " (expected: >= 1)");
    }
    // Maintenance (eviction) on the writing thread: digests arrive once per health interval, so the cost lands on the
    // poller, and the bound holds the moment a digest is applied instead of some time later.
    this.workersByBlock = Caffeine.newBuilder().maximumSize(maxBlocks).executor(Runnable::run).build();
  }

  /** The digest version the index holds for {@code workerId}: sent in the next Health request; 0 when none. */
  public long knownVersion(String workerId) {
    Known known = byWorker.get(workerId);
    return known == null ? 0 : known.version();
  }

  /**
   * Takes a worker's digest. A digest without hashes ({@code included} false) confirms the version the index holds,
   * or, when the version differs (the worker restarted or the index forgot it), changes nothing until a full one comes.
   */
  public synchronized void apply(String workerId, PrefixCacheDigest digest) {
    if (digest.getVersion() == 0) {
      forget(workerId);
      return;
    }
    if (!digest.getIncluded()) {
      return;
    }
    int count = Math.min(digest.getBlockHashesCount(), MAX_HASHES_PER_WORKER);
    long[] now = new long[count];
    for (int i = 0; i < count; i++) {
      now[i] = digest.getBlockHashes(i);
    }
    now = Arrays.stream(now).sorted().distinct().toArray();
    // Updates are serialized (a manual poll may overlap the scheduled one), so the diff below is against what the
    // index really holds for the worker. Both arrays are sorted: one merge pass finds what left and what came.
    Known before = byWorker.put(workerId, new Known(digest.getVersion(), now));
    long[] old = before == null ? new long[0] : before.hashes();
    int i = 0;
    int j = 0;
    while (i < old.length || j < now.length) {
      if (j == now.length || (i < old.length && old[i] < now[j])) {
        workersByBlock.asMap().computeIfPresent(old[i++], (h, workers) -> without(workers, workerId));
      } else if (i == old.length || now[j] < old[i]) {
        workersByBlock.asMap().compute(now[j++], (h, workers) -> with(workers, workerId));
      } else {
        i++;
        j++;
      }
    }
  }

  /** Drops everything the index knows about a worker (it stopped answering: its cache may be gone). */
  public synchronized void forget(String workerId) {
    Known before = byWorker.remove(workerId);
    if (before != null) {
      for (long hash : before.hashes()) {
        workersByBlock.asMap().computeIfPresent(hash, (h, workers) -> without(workers, workerId));
      }
    }
  }

  private static Set<String> with(Set<String> workers, String workerId) {
    if (workers == null) {
      return Set.of(workerId);
    }
    if (workers.contains(workerId)) {
      return workers;
    }
    Set<String> copy = new HashSet<>(workers);
    copy.add(workerId);
    return Set.copyOf(copy);
  }

  private static Set<String> without(Set<String> workers, String workerId) {
    if (!workers.contains(workerId)) {
      return workers;
    }
    if (workers.size() == 1) {
      return null;
    }
    Set<String> copy = new HashSet<>(workers);
    copy.remove(workerId);
    return Set.copyOf(copy);
  }

  /** Block hashes indexed now (approximate, as Caffeine's size is). */
  public long indexedBlocks() {
    return workersByBlock.estimatedSize();
  }

  @Override
  public int cachedPrefixTokens(WorkerSnapshot worker, List<Integer> promptTokenIds) {
    return cachedPrefixTokens(List.of(worker), promptTokenIds).get(worker.id());
  }

  /** Hashes the prompt's blocks once per block size among {@code workers} and walks every worker's chain with it. */
  @Override
  public Map<String, Integer> cachedPrefixTokens(List<WorkerSnapshot> workers, List<Integer> promptTokenIds) {
    Map<String, Integer> cached = new LinkedHashMap<>();
    Map<Integer, List<String>> knownByBlockTokens = new HashMap<>();
    for (WorkerSnapshot w : workers) {
      cached.put(w.id(), 0);
      if (w.blockTokens() > 0 && byWorker.containsKey(w.id())) {
        knownByBlockTokens.computeIfAbsent(w.blockTokens(), k -> new ArrayList<>()).add(w.id());
      }
    }
    int[] tokens = knownByBlockTokens.isEmpty() ? new int[0]
        : promptTokenIds.stream().mapToInt(Integer::intValue).toArray();
    knownByBlockTokens.forEach((blockTokens, ids) -> {
      List<String> matching = new ArrayList<>(ids);
      long parent = KvBlockHashes.ROOT;
      for (int from = 0; from + blockTokens <= tokens.length && !matching.isEmpty(); from += blockTokens) {
        parent = KvBlockHashes.next(parent, tokens, from, blockTokens);
        Set<String> holders = workersByBlock.getIfPresent(parent);
        if (holders == null) {
          break;
        }
        matching.removeIf(id -> !holders.contains(id));
        for (String id : matching) {
          cached.merge(id, blockTokens, Integer::sum);
        }
      }
    });
    return cached;
  }

  @Override
  public String toString() {
    return "PrefixIndex{workers=" + byWorker.size() + ", blocks=" + indexedBlocks() + "}";
  }
}
