package io.disagg.decode.testing;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvBlockPools;
import io.disagg.backend.spi.KvDtype;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.KvPoolExhaustedException;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelFingerprint;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A simulator of a backend, for worker tests that must not depend on a model file. It is a toy language model whose
 * next token is a hash of the keys stored in its paged KV cache, so a cache that was corrupted, truncated or
 * misplaced on its way between workers produces different tokens. Sampling with a temperature mixes in
 * (seed, position) only, like the real engine. Token 0 is BOS, 1 is EOS, every other token {@code t} reads
 * {@code " w<t>"}.
 */
public final class SimulatedBackend implements Backend {
  public static final int BOS = 0;
  public static final int EOS = 1;
  /** The kv-transfer secret worker tests share. */
  public static final String KV_SECRET = "worker-tests-shared-secret";

  private final KvBlockPool pool;
  private final ModelInfo model;
  private final Tok tokenizer = new Tok();
  private final int vocab;
  private final int eosEvery;
  private final AtomicInteger decodeCalls = new AtomicInteger();
  private final AtomicInteger prefillCalls = new AtomicInteger();
  private volatile boolean draining;
  private volatile boolean closed;

  /**
   * @param eosEvery the model emits EOS when its hash is a multiple of this (0: never)
   */
  public SimulatedBackend(int kvBlocks, int blockTokens, int contextLength, int eosEvery) {
    this.vocab = 64;
    this.eosEvery = eosEvery;
    KvLayout layout = new KvLayout(2, 1, 4, KvDtype.F32, blockTokens);
    this.pool = KvBlockPools.offHeap(layout, kvBlocks);
    ModelFingerprint fp = new ModelFingerprint("ab".repeat(32), layout);
    this.model = new ModelInfo("simulated", "simulated", 2, 4, 1, 1, 4, 8, vocab, contextLength, 0, 0, fp,
        Optional.empty());
  }

  public static SimulatedBackend create() {
    return new SimulatedBackend(256, 4, 256, 0);
  }

  /** Prefill calls so far (each may batch several prompts). */
  public int prefillCalls() {
    return prefillCalls.get();
  }

  public int decodeCalls() {
    return decodeCalls.get();
  }

  @Override
  public ModelInfo model() {
    return model;
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public KvBlockPool kvPool() {
    return pool;
  }

  @Override
  public List<PrefillResult> prefill(List<PrefillRequest> requests, PrefillListener listener) {
    checkOpen();
    if (draining) {
      throw new BackendException(BackendException.Code.UNAVAILABLE, "draining");
    }
    prefillCalls.incrementAndGet();
    for (PrefillRequest r : requests) {
      int[] prompt = r.promptTokens();
      if (prompt.length > model.contextLength()) {
        throw new BackendException(BackendException.Code.CONTEXT_OVERFLOW, "prompt too long: " + prompt.length);
      }
      for (int t : prompt) {
        if (t < 0 || t >= vocab) {
          throw new BackendException(BackendException.Code.INVALID_ARGUMENT, "token id out of range: " + t);
        }
      }
    }
    List<Seq> made = new ArrayList<>();
    try {
      for (PrefillRequest r : requests) {
        int positions = Math.min(model.contextLength(), r.promptTokens().length + r.reserveTokens());
        made.add(new Seq(r.requestId(), r.promptTokens().length, pool.reserve(pool.layout().blocksFor(positions))));
      }
    } catch (KvPoolExhaustedException e) {
      made.forEach(Seq::close);
      throw e;
    }
    for (int i = 0; i < requests.size(); i++) {
      for (int t : requests.get(i).promptTokens()) {
        made.get(i).append(t);
      }
    }
    for (int layer = 0; layer < model.layers(); layer++) {
      for (Seq s : made) {
        listener.onLayerComplete(s, layer);
      }
    }
    List<PrefillResult> results = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      results.add(new PrefillResult(made.get(i), sample(made.get(i), requests.get(i).sampling()), 0));
    }
    return results;
  }

  @Override
  public List<SampledToken> decode(List<DecodeSlot> batch) {
    checkOpen();
    decodeCalls.incrementAndGet();
    int newBlocks = 0;
    for (DecodeSlot slot : batch) {
      Seq s = (Seq) slot.sequence();
      if (s.isClosed()) {
        throw new BackendException(BackendException.Code.INVALID_ARGUMENT, "sequence closed: " + s.requestId());
      }
      if (s.tokens.size() >= model.contextLength()) {
        throw new BackendException(BackendException.Code.CONTEXT_OVERFLOW, "at context length: " + s.requestId());
      }
      if (s.tokens.size() >= s.blocks.size() * pool.layout().blockTokens()) {
        newBlocks++;
      }
    }
    if (newBlocks > pool.freeBlocks()) {
      throw new KvPoolExhaustedException(newBlocks, pool.freeBlocks(), pool.totalBlocks());
    }
    List<SampledToken> out = new ArrayList<>(batch.size());
    for (DecodeSlot slot : batch) {
      Seq s = (Seq) slot.sequence();
      s.append(slot.inputToken());
      out.add(sample(s, slot.sampling()));
    }
    return out;
  }

  @Override
  public KvExport exportKv(Sequence sequence) {
    Seq s = (Seq) sequence;
    int n = s.tokens.size();
    List<MemorySegment> segs = new ArrayList<>();
    for (int b = 0; b < pool.layout().blocksFor(n); b++) {
      segs.add(s.blocks.get(b).segment().asReadOnly());
    }
    return new KvExport(s.requestId(), model.fingerprint(), n, s.tokens(), segs);
  }

  @Override
  public Sequence importKv(KvReservation reservation, KvImport header) {
    checkOpen();
    if (draining) {
      throw new BackendException(BackendException.Code.UNAVAILABLE, "draining");
    }
    if (!header.fingerprint().equals(model.fingerprint())) {
      throw new BackendException(BackendException.Code.KV_MISMATCH, "fingerprint " + header.fingerprint());
    }
    int[] tokens = header.tokens();
    if (reservation.blocks().size() < pool.layout().blocksFor(tokens.length)) {
      throw new BackendException(BackendException.Code.KV_MISMATCH, "reservation too small");
    }
    return new Seq(header.requestId(), tokens.length, reservation.handOver(), tokens);
  }

  @Override
  public void drain() {
    draining = true;
  }

  @Override
  public boolean isDraining() {
    return draining;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      pool.close();
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new BackendException(BackendException.Code.UNAVAILABLE, "closed");
    }
  }

  /** The "model": a hash over the keys in the cache, so the answer depends on the cache's bytes. */
  private SampledToken sample(Seq s, SamplingParams sampling) {
    KvLayout layout = pool.layout();
    long h = 17;
    int n = s.tokens.size();
    for (int p = 0; p < n; p++) {
      KvBlock block = s.blocks.get(p / layout.blockTokens());
      float key = block.segment().get(ValueLayout.JAVA_FLOAT, layout.offset(1, false, p % layout.blockTokens()));
      h = h * 31 + (long) key;
    }
    if (!sampling.isGreedy()) {
      h ^= (sampling.seed() * 0x9E3779B97F4A7C15L) + n;
      h = h * 0xBF58476D1CE4E5B9L;
    }
    h = h ^ (h >>> 29);
    if (eosEvery > 0 && Math.floorMod(h, eosEvery) == 0) {
      return SampledToken.of(EOS);
    }
    return SampledToken.of(2 + Math.floorMod(h, vocab - 2));
  }

  private final class Seq implements Sequence {
    final String requestId;
    final int promptTokens;
    final KvReservation reservation;
    final List<KvBlock> blocks;
    final List<Integer> tokens = new ArrayList<>();
    final List<KvReservation> grownReservations = new ArrayList<>();
    private boolean closedFlag;

    Seq(String requestId, int promptTokens, KvReservation reservation) {
      this.requestId = requestId;
      this.promptTokens = promptTokens;
      this.reservation = reservation;
      this.blocks = new ArrayList<>(reservation.blocks());
    }

    Seq(String requestId, int promptTokens, KvReservation reservation, int[] cached) {
      this(requestId, promptTokens, reservation);
      for (int t : cached) {
        tokens.add(t);
      }
    }

    /** Writes the token's keys and values at the next position, growing by a block when needed. */
    void append(int token) {
      KvLayout layout = pool.layout();
      int p = tokens.size();
      if (p >= blocks.size() * layout.blockTokens()) {
        KvReservation grown = pool.reserve(1);
        grownReservations.add(grown);
        blocks.addAll(grown.blocks());
      }
      MemorySegment seg = blocks.get(p / layout.blockTokens()).segment();
      for (int layer = 0; layer < layout.layers(); layer++) {
        seg.set(ValueLayout.JAVA_FLOAT, layout.offset(layer, false, p % layout.blockTokens()),
            token * (layer + 1) + p);
        seg.set(ValueLayout.JAVA_FLOAT, layout.offset(layer, true, p % layout.blockTokens()), -token);
      }
      tokens.add(token);
    }

    @Override
    public String requestId() {
      return requestId;
    }

    @Override
    public int cachedTokens() {
      return tokens.size();
    }

    @Override
    public int promptTokens() {
      return promptTokens;
    }

    @Override
    public int[] tokens() {
      return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    @Override
    public List<KvBlock> blocks() {
      return List.copyOf(blocks);
    }

    @Override
    public synchronized boolean isClosed() {
      return closedFlag;
    }

    @Override
    public synchronized void close() {
      if (closedFlag) {
        return;
      }
      closedFlag = true;
      reservation.close();
      grownReservations.forEach(KvReservation::close);
    }
  }

  private static final class Tok implements Tokenizer {
    @Override
    public int vocabSize() {
      return 64;
    }

    @Override
    public int bosId() {
      return BOS;
    }

    @Override
    public int eosId() {
      return EOS;
    }

    @Override
    public boolean addBos() {
      return true;
    }

    @Override
    public int[] encode(String text) {
      return Arrays.stream(text.trim().split("\\s+"))
          .filter(w -> w.startsWith("w"))
          .mapToInt(w -> Integer.parseInt(w.substring(1)))
          .toArray();
    }

    @Override
    public byte[] tokenBytes(int previous, int tokenId) {
      if (tokenId < 0 || tokenId >= 64) {
        throw new IllegalArgumentException("tokenId: " + tokenId);
      }
      return tokenId <= EOS ? new byte[0] : piece(tokenId).getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String piece(int tokenId) {
      return tokenId == BOS ? "<s>" : tokenId == EOS ? "</s>" : " w" + tokenId;
    }

    @Override
    public boolean isEndOfGeneration(int tokenId) {
      return tokenId == EOS;
    }

    @Override
    public boolean isSpecial(int tokenId) {
      return tokenId <= EOS;
    }
  }
}
