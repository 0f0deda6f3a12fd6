package io.disagg.backend.java.internal;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.BackendException.Code;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.PrefixCacheDigest;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import io.disagg.gguf.GgufException;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufTokenizers;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The Java engine behind the SPI: a memory-mapped GGUF model, a paged F32 KV pool, compute threads and the sampler.
 * Compute methods are called by one thread at a time (the SPI's contract); {@link #kvPool()} and
 * {@link Sequence#close()} are thread-safe.
 */
public final class JavaBackend implements Backend {
  private final GgufFile gguf;
  private final ModelConfig config;
  private final ModelInfo info;
  private final Tokenizer tokenizer;
  private final KvLayout layout;
  private final PrefixCachingKvPool pool;
  private final Parallel parallel;
  private final Transformer transformer;
  private final int maxBatchTokens;
  private volatile boolean draining;
  private volatile boolean closed;

  private JavaBackend(GgufFile gguf, BackendConfig backendConfig) {
    this.gguf = gguf;
    this.config = ModelConfig.from(gguf);
    ModelWeights weights = new ModelWeights(gguf, config);
    this.tokenizer = GgufTokenizers.fromGguf(gguf);
    this.layout = new KvLayout(config.layers(), config.kvHeads(), config.headDim(), KvDtype.F32,
        backendConfig.blockTokens());
    this.info = new ModelInfo(config.name(), config.architecture(), config.layers(), config.dim(), config.heads(),
        config.kvHeads(), config.headDim(), config.feedForwardDim(), config.vocabSize(), config.contextLength(),
        weights.parameterCount, weights.bytesPerToken, new ModelFingerprint(gguf.sha256(), layout),
        config.chatTemplate());
    this.maxBatchTokens = backendConfig.maxBatchTokens();
    this.pool = new PrefixCachingKvPool(KvBlockPools.offHeap(layout, backendConfig.kvBlocks()),
        prefixCache(backendConfig));
    this.parallel = new Parallel(backendConfig.threads(), "disagg-java-compute");
    this.transformer = new Transformer(config, weights, layout, parallel, minMacsPerShare(backendConfig));
  }

  /** Option {@value #MIN_PARALLEL_WORK}: multiply-adds below which work stays on one thread. */
  public static final String MIN_PARALLEL_WORK = "java.min-parallel-work";

  /**
   * Option {@value #PREFIX_CACHE}: {@code true} (default) keeps closed sequences' full KV blocks in a prefix cache
   * for later prompts that start the same way; {@code false} frees them at once.
   */
  public static final String PREFIX_CACHE = "java.prefix-cache";

  /** Every option this backend reads, in the order its error message names them. */
  private static final List<String> OPTIONS = List.of(MIN_PARALLEL_WORK, PREFIX_CACHE);

  /**
   * Refuses a {@code java.*} option this backend does not know, so a misspelt one fails instead of being ignored;
   * other prefixes belong to other backends (a config shared between them) and are left alone.
   */
  private static void rejectUnknownOptions(BackendConfig config) {
    for (String key : config.options().keySet()) {
      if (key.startsWith("java.") && !OPTIONS.contains(key)) {
        throw new IllegalArgumentException("option " + key + ": unknown (expected: one of " + OPTIONS + ")");
      }
    }
  }

  private static boolean prefixCache(BackendConfig config) {
    String value = config.options().getOrDefault(PREFIX_CACHE, "true").trim();
    return switch (value) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(PREFIX_CACHE + ": " + value + " (expected: true or false)");
    };
  }

  private static int minMacsPerShare(BackendConfig config) {
    String value = config.options().get(MIN_PARALLEL_WORK);
    if (value == null) {
      return Transformer.DEFAULT_MIN_MACS_PER_SHARE;
    }
    int parsed;
    try {
      parsed = Integer.parseInt(value.trim());
    } catch (NumberFormatException e) {
      parsed = -1;
    }
    if (parsed <= 0) {
      throw new IllegalArgumentException(MIN_PARALLEL_WORK + ": " + value + " (expected: an integer > 0)");
    }
    return parsed;
  }

  /**
   * Opens the model named by {@code config}.
   *
   * @throws BackendException {@code MODEL_INVALID} when the file is unreadable or not a supported model
   */
  public static JavaBackend open(BackendConfig config) {
    requirePositive("threads", config.threads());
    requirePositive("kvBlocks", config.kvBlocks());
    requirePositive("blockTokens", config.blockTokens());
    requirePositive("maxBatchTokens", config.maxBatchTokens());
    rejectUnknownOptions(config);
    GgufFile gguf;
    try {
      gguf = GgufFile.open(config.modelPath());
    } catch (GgufException e) {
      throw new BackendException(Code.MODEL_INVALID, e.getMessage(), e);
    }
    try {
      return new JavaBackend(gguf, config);
    } catch (GgufException e) {
      gguf.close();
      throw new BackendException(Code.MODEL_INVALID, config.modelPath() + ": " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      gguf.close();
      throw e;
    }
  }

  @Override
  public ModelInfo model() {
    return info;
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public KvBlockPool kvPool() {
    return pool;
  }

  /** Whether option {@value #PREFIX_CACHE} is on. */
  public boolean prefixCacheEnabled() {
    return pool.enabled();
  }

  /** Blocks held by the prefix cache, whether or not a live sequence shares them. */
  public int prefixCachedBlocks() {
    return pool.cachedBlocks();
  }

  /**
   * Cached blocks no live sequence uses: evicted on demand by any reservation, hence already counted in
   * {@code kvPool().freeBlocks()} (which means "reservable now").
   */
  public int evictableKvBlocks() {
    return pool.evictableBlocks();
  }

  /** Evicts every cached block no live sequence uses, returning them to the pool; returns how many. */
  public int evictPrefixCache() {
    return pool.evictAll();
  }

  /** Changes whenever a block enters or leaves the prefix cache; 0 when option {@value #PREFIX_CACHE} is off. */
  @Override
  public long prefixCacheVersion() {
    return pool.version();
  }

  /**
   * The prefix cache's block hashes: first the blocks live sequences share (shallowest first), then the evictable ones
   * from the most recently released, so a truncated digest leaves out what eviction would take first; a listed
   * block's parent is listed before it. {@link PrefixCacheDigest#NONE} when option {@value #PREFIX_CACHE} is off.
   */
  @Override
  public PrefixCacheDigest prefixCache(int maxHashes) {
    return pool.digest(maxHashes);
  }

  /** Compute threads in use. */
  public int threads() {
    return parallel.threads();
  }

  // ---------------------------------------------------------------- prefill

  /** One contiguous run of a prompt computed in one forward call. */
  private record Chunk(JavaSequence sequence, int[] tokens, int from, int to, boolean last) {}

  @Override
  public List<PrefillResult> prefill(List<PrefillRequest> requests, PrefillListener listener) {
    requireOpen();
    if (draining) {
      throw new BackendException(Code.UNAVAILABLE, "backend is draining: no new prefill");
    }
    for (PrefillRequest r : requests) {
      validateTokens(r.promptTokens(), "prompt of " + r.requestId());
      if (r.promptTokens().length > config.contextLength()) {
        throw new BackendException(Code.CONTEXT_OVERFLOW, "prompt of " + r.requestId() + ": "
            + r.promptTokens().length + " tokens (expected: <= context length " + config.contextLength() + ")");
      }
    }
    // Shared prefixes first (they lower what must be reserved), then the rest; all or nothing.
    List<List<PrefixCachingKvPool.Entry>> shared = new ArrayList<>(requests.size());
    List<KvReservation> reservations = new ArrayList<>(requests.size());
    try {
      for (PrefillRequest r : requests) {
        // Leave at least the last prompt token to compute: its logits give the first sampled token.
        shared.add(pool.acquirePrefix(r.promptTokens(), (r.promptTokens().length - 1) / layout.blockTokens()));
      }
      for (int i = 0; i < requests.size(); i++) {
        PrefillRequest r = requests.get(i);
        int positions = (int) Math.min((long) r.promptTokens().length + r.reserveTokens(), config.contextLength());
        reservations.add(pool.reserve(layout.blocksFor(positions) - shared.get(i).size()));
      }
    } catch (RuntimeException e) {
      reservations.forEach(KvReservation::close);
      shared.forEach(pool::unuse);
      throw e;
    }
    List<JavaSequence> sequences = new ArrayList<>(requests.size());
    int[] reused = new int[requests.size()];
    for (int i = 0; i < requests.size(); i++) {
      PrefillRequest r = requests.get(i);
      JavaSequence s = new JavaSequence(this, pool, r.requestId(), r.promptTokens().length, layout.blockTokens(),
          shared.get(i), reservations.get(i).handOver());
      reused[i] = shared.get(i).size() * layout.blockTokens();
      s.append(r.promptTokens(), 0, reused[i]);
      s.acquire();
      sequences.add(s);
    }
    try {
      List<Chunk> chunks = new ArrayList<>();
      for (int i = 0; i < requests.size(); i++) {
        int[] prompt = requests.get(i).promptTokens();
        for (int from = reused[i]; from < prompt.length; from += maxBatchTokens) {
          int to = Math.min(prompt.length, from + maxBatchTokens);
          chunks.add(new Chunk(sequences.get(i), prompt, from, to, to == prompt.length));
        }
      }
      List<SampledToken> first = new ArrayList<>(Collections.nCopies(requests.size(), null));
      int next = 0;
      while (next < chunks.size()) {
        int end = next;
        int rows = 0;
        while (end < chunks.size() && (end == next || rows + chunks.get(end).to() - chunks.get(end).from()
            <= maxBatchTokens)) {
          rows += chunks.get(end).to() - chunks.get(end).from();
          end++;
        }
        runPrefillChunks(chunks.subList(next, end), rows, requests, sequences, listener, first);
        next = end;
      }
      List<PrefillResult> results = new ArrayList<>(requests.size());
      for (int i = 0; i < requests.size(); i++) {
        results.add(new PrefillResult(sequences.get(i), first.get(i), reused[i]));
      }
      return results;
    } catch (RuntimeException | Error e) {
      sequences.forEach(s -> {
        s.releaseCompute();
        s.close();
      });
      throw internal(e);
    } finally {
      sequences.forEach(JavaSequence::releaseCompute);
    }
  }

  private void runPrefillChunks(List<Chunk> chunks, int rows, List<PrefillRequest> requests,
      List<JavaSequence> sequences, PrefillListener listener, List<SampledToken> first) {
    int[] tokens = new int[rows];
    int[] positions = new int[rows];
    MemorySegment[][] caches = new MemorySegment[rows][];
    List<Integer> logitRows = new ArrayList<>();
    List<Chunk> finishing = new ArrayList<>();
    int row = 0;
    for (Chunk c : chunks) {
      MemorySegment[] segments = c.sequence().segments();
      for (int p = c.from(); p < c.to(); p++, row++) {
        tokens[row] = c.tokens()[p];
        positions[row] = p;
        caches[row] = segments;
      }
      if (c.last()) {
        logitRows.add(row - 1);
        finishing.add(c);
      }
    }
    float[] logits = transformer.forward(rows, tokens, positions, caches,
        logitRows.stream().mapToInt(Integer::intValue).toArray(), layer -> {
          for (Chunk c : finishing) {
            listener.onLayerComplete(c.sequence(), layer);
          }
        }, false);
    for (Chunk c : chunks) {
      c.sequence().append(c.tokens(), c.from(), c.to() - c.from());
    }
    for (int i = 0; i < finishing.size(); i++) {
      Chunk c = finishing.get(i);
      int index = sequences.indexOf(c.sequence());
      first.set(index, Sampler.sample(logits, i * config.vocabSize(), config.vocabSize(),
          requests.get(index).sampling(), new int[0], 0, c.to()));
    }
  }

  // ---------------------------------------------------------------- decode

  @Override
  public List<SampledToken> decode(List<DecodeSlot> batch) {
    requireOpen();
    if (batch.isEmpty()) {
      return List.of();
    }
    int rows = batch.size();
    JavaSequence[] sequences = new JavaSequence[rows];
    Set<JavaSequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (int i = 0; i < rows; i++) {
      DecodeSlot slot = batch.get(i);
      JavaSequence s = own(slot.sequence());
      if (!seen.add(s)) {
        throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " appears twice in a batch");
      }
      if (s.isClosed()) {
        throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " is closed");
      }
      validateTokens(new int[] {slot.inputToken()}, "decode input of " + s.requestId());
      if (s.cachedTokens() + 1 > config.contextLength()) {
        throw new BackendException(Code.CONTEXT_OVERFLOW, "sequence " + s.requestId() + " is at the context length "
            + config.contextLength());
      }
      sequences[i] = s;
    }
    // Reserve every block the step needs before changing anything, so running out leaves all sequences as they were.
    KvReservation[] growth = new KvReservation[rows];
    try {
      for (int i = 0; i < rows; i++) {
        if (sequences[i].cachedTokens() >= sequences[i].capacity()) {
          growth[i] = pool.reserve(1);
        }
      }
    } catch (RuntimeException e) {
      for (KvReservation r : growth) {
        if (r != null) {
          r.close();
        }
      }
      throw e;
    }
    int acquired = 0;
    try {
      for (; acquired < rows; acquired++) {
        sequences[acquired].acquire();
      }
    } catch (RuntimeException e) {
      for (int i = 0; i < acquired; i++) {
        sequences[i].releaseCompute();
      }
      for (KvReservation r : growth) {
        if (r != null) {
          r.close();
        }
      }
      throw e;
    }
    try {
      int[] tokens = new int[rows];
      int[] positions = new int[rows];
      int[] logitRows = new int[rows];
      MemorySegment[][] caches = new MemorySegment[rows][];
      for (int i = 0; i < rows; i++) {
        if (growth[i] != null) {
          sequences[i].addBlocks(growth[i].handOver());
        }
        tokens[i] = batch.get(i).inputToken();
        positions[i] = sequences[i].cachedTokens();
        caches[i] = sequences[i].segments();
        logitRows[i] = i;
      }
      float[] logits = transformer.forward(rows, tokens, positions, caches, logitRows, layer -> {}, true);
      List<SampledToken> out = new ArrayList<>(rows);
      for (int i = 0; i < rows; i++) {
        sequences[i].append(tokens, i, 1);
        int[] generated = sequences[i].generatedTokens();
        out.add(Sampler.sample(logits, i * config.vocabSize(), config.vocabSize(), batch.get(i).sampling(),
            generated, generated.length, positions[i] + 1));
      }
      return out;
    } catch (RuntimeException | Error e) {
      throw internal(e);
    } finally {
      for (JavaSequence s : sequences) {
        s.releaseCompute();
      }
    }
  }

  // ---------------------------------------------------------------- KV export and import

  @Override
  public KvExport exportKv(Sequence sequence) {
    requireOpen();
    JavaSequence s = own(sequence);
    if (s.isClosed()) {
      throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " is closed");
    }
    int[] tokens = s.tokens();
    List<KvBlock> blocks = s.blocks();
    List<MemorySegment> views = new ArrayList<>();
    for (int b = 0; b < layout.blocksFor(tokens.length); b++) {
      views.add(blocks.get(b).segment().asReadOnly());
    }
    return new KvExport(s.requestId(), info.fingerprint(), tokens.length, tokens, views);
  }

  @Override
  public Sequence importKv(KvReservation reservation, KvImport header) {
    requireOpen();
    if (draining) {
      throw new BackendException(Code.UNAVAILABLE, "backend is draining: no new import");
    }
    ModelFingerprint own = info.fingerprint();
    if (!own.equals(header.fingerprint())) {
      String what = own.modelSha256().equals(header.fingerprint().modelSha256()) ? "KV layout" : "model";
      throw new BackendException(Code.KV_MISMATCH, "KV cache of " + header.requestId() + " comes from a different "
          + what + ": offered " + header.fingerprint().value() + ", this backend is " + own.value());
    }
    int[] tokens = header.tokens();
    if (tokens.length > config.contextLength()) {
      throw new BackendException(Code.KV_MISMATCH, "KV cache of " + header.requestId() + " holds " + tokens.length
          + " tokens (expected: <= context length " + config.contextLength() + ")");
    }
    try {
      validateTokens(tokens, "KV cache of " + header.requestId());
    } catch (BackendException e) {
      throw new BackendException(Code.KV_MISMATCH, e.getMessage());
    }
    if (!reservation.isHeld()) {
      throw new BackendException(Code.KV_MISMATCH, "reservation for " + header.requestId()
          + " was already released or imported");
    }
    int needed = layout.blocksFor(tokens.length);
    if (reservation.blocks().size() < needed) {
      throw new BackendException(Code.KV_MISMATCH, "reservation for " + header.requestId() + " holds "
          + reservation.blocks().size() + " blocks (expected: >= " + needed + " for " + tokens.length + " tokens)");
    }
    for (KvBlock block : reservation.blocks()) {
      if (block.segment().byteSize() != layout.blockBytes()) {
        throw new BackendException(Code.KV_MISMATCH, "block " + block.index() + " is " + block.segment().byteSize()
            + " bytes (expected: " + layout.blockBytes() + " for " + layout.describe() + ")");
      }
    }
    JavaSequence s = new JavaSequence(this, pool, header.requestId(), tokens.length, layout.blockTokens(), List.of(),
        reservation.handOver());
    s.append(tokens, 0, tokens.length);
    return s;
  }

  // ---------------------------------------------------------------- lifecycle

  @Override
  public void drain() {
    draining = true;
  }

  @Override
  public boolean isDraining() {
    return draining;
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    draining = true;
    parallel.close();
    pool.close();
    gguf.close();
  }

  @Override
  public String toString() {
    return "JavaBackend[" + info.name() + ", " + info.architecture() + ", " + layout.describe() + ", threads "
        + parallel.threads() + "]";
  }

  private static void requirePositive(String name, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException(name + ": " + value + " (expected: > 0)");
    }
  }

  private void requireOpen() {
    if (closed) {
      throw new BackendException(Code.UNAVAILABLE, "backend is closed");
    }
  }

  private JavaSequence own(Sequence sequence) {
    if (sequence instanceof JavaSequence s && s.owner() == this) {
      return s;
    }
    throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + sequence.requestId()
        + " does not belong to this backend");
  }

  private void validateTokens(int[] tokens, String what) {
    for (int i = 0; i < tokens.length; i++) {
      if (tokens[i] < 0 || tokens[i] >= config.vocabSize()) {
        throw new BackendException(Code.INVALID_ARGUMENT, what + ": token id " + tokens[i] + " at index " + i
            + " (expected: 0.." + (config.vocabSize() - 1) + ")");
      }
    }
  }

  private static BackendException internal(Throwable e) {
    if (e instanceof BackendException b) {
      return b;
    }
    return new BackendException(Code.INTERNAL, "java backend failed: " + e, e);
  }
}
