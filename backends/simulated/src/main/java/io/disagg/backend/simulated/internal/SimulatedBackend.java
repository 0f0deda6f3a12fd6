package io.disagg.backend.simulated.internal;

import io.disagg.backend.simulated.HardwareProfile;
import io.disagg.backend.simulated.ModelShape;
import io.disagg.backend.simulated.Roofline;
import io.disagg.backend.simulated.SimulatedOptions;
import io.disagg.backend.simulated.SimulatedOptions.KvPayload;
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
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import io.disagg.gguf.GgufException;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufTokenizers;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A simulated accelerator behind the SPI. Nothing is computed: each call does the bookkeeping a real backend does
 * (KV blocks reserved and written, tokens drawn) and then waits until the time the {@link Roofline} predicts for it
 * has passed since the call began.
 *
 * <p>KV cache contents: for every position, layer {@code l}'s first key slot holds an 8-byte signature of the context
 * hash (layer 0 the hash itself, see {@link ContextHash}) and layer 0's first value slot the token id; the rest of the
 * block is not written. Decode reads the previous position's hash back from the blocks, so the cache really carries
 * the state: an imported cache continues exactly, and one whose bytes were not transferred is refused at import. With
 * {@link KvPayload#VIRTUAL} blocks use a compact layout (one KV head of two F32 elements per layer) that holds just
 * these signatures, while timing and memory checks use the model's full 16-bit layout.
 *
 * <p>Compute methods are called by one thread at a time (the SPI's contract); {@link #kvPool()} and
 * {@link Sequence#close()} are thread-safe.
 */
public final class SimulatedBackend implements Backend {
  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED;

  private final HardwareProfile profile;
  private final ModelShape shape;
  private final Roofline roofline;
  private final SimulatedOptions options;
  private final Tokenizer tokenizer;
  private final SimSampler sampler;
  private final ModelInfo info;
  private final KvLayout layout;
  private final boolean virtualKv;
  private final KvBlockPool pool;
  private final int maxBatchTokens;
  private final long seed;
  private final DeadlineWaiter waiter = DeadlineWaiter.SHARED;
  private volatile boolean draining;
  private volatile boolean closed;

  private SimulatedBackend(BackendConfig config, SimulatedOptions options, HardwareProfile profile, ModelShape shape,
      Tokenizer tokenizer, String sha256) {
    this.options = options;
    this.profile = profile;
    this.shape = shape;
    this.roofline = new Roofline(profile, shape, options.devices());
    this.tokenizer = tokenizer;
    this.maxBatchTokens = config.maxBatchTokens();
    int blockTokens = config.blockTokens();
    KvLayout full = new KvLayout(shape.layers(), shape.kvHeads(), shape.headDim(), KvDtype.F16, blockTokens);
    long kvTokens = (long) config.kvBlocks() * blockTokens;
    double needed = roofline.memoryNeeded(kvTokens);
    if (needed > roofline.memoryCapacity()) {
      throw new BackendException(Code.MODEL_INVALID, ("simulated: %s does not fit on %d× %s: weights %.2f GB + KV of %d "
          + "blocks × %d tokens (%.2f GB) = %.2f GB > %.2f GB of memory (expected: fewer --kv-blocks, a smaller "
          + "model, more %s or a profile with more memory)").formatted(shape.name(), options.devices(),
          profile.name(), shape.weightBytes() / 1e9, config.kvBlocks(), blockTokens,
          kvTokens * (double) shape.kvBytesPerToken() / 1e9, needed / 1e9, roofline.memoryCapacity() / 1e9,
          SimulatedOptions.DEVICES));
    }
    boolean realFits = full.kvDim() * full.dtype().bytes() >= Long.BYTES;
    this.virtualKv = switch (options.kvPayload()) {
      case VIRTUAL -> true;
      case REAL -> {
        if (!realFits) {
          throw new IllegalArgumentException(SimulatedOptions.KV_PAYLOAD + ": real needs at least 8 bytes per KV "
              + "slot, the model has " + full.kvDim() * full.dtype().bytes() + " (expected: virtual or auto)");
        }
        yield false;
      }
      case AUTO -> !realFits || full.blockBytes() * (double) config.kvBlocks() > options.realKvLimitBytes();
    };
    this.layout = virtualKv ? new KvLayout(shape.layers(), 1, 2, KvDtype.F32, blockTokens) : full;
    ModelFingerprint fingerprint = new ModelFingerprint(sha256, layout);
    this.info = new ModelInfo(shape.name(), shape.architecture(), shape.layers(), shape.embeddingDim(), shape.heads(),
        shape.kvHeads(), shape.headDim(), shape.feedForwardDim(), shape.vocabSize(), shape.contextLength(),
        shape.parameterCount(), shape.weightBytes(), fingerprint, Optional.empty());
    this.sampler = new SimSampler(tokenizer, shape.vocabSize());
    if (sampler.allowedCount() == 0) {
      throw new BackendException(Code.MODEL_INVALID, "simulated: every token of " + shape.name() + " is special");
    }
    this.seed = Long.parseUnsignedLong(sha256.substring(0, 16), 16);
    this.pool = KvBlockPools.offHeap(layout, config.kvBlocks());
  }

  /**
   * Opens a simulated backend: the model is {@code config.modelPath()} (a GGUF file) unless option
   * {@value SimulatedOptions#SHAPE} gives a shape spec.
   *
   * @throws BackendException {@code MODEL_INVALID} when the file is unreadable, or weights plus KV pool do not fit in
   *     the profile's memory
   * @throws IllegalArgumentException for a malformed option, shape spec or profile
   */
  public static SimulatedBackend open(BackendConfig config) {
    SimulatedOptions options = SimulatedOptions.from(config);
    HardwareProfile profile = HardwareProfile.load(options.profile());
    if (options.shape().isPresent()) {
      ModelShape shape = ModelShape.fromSpec(options.shape().get());
      Tokenizer tokenizer = new ByteTokenizer(shape.vocabSize());
      String sha = sha256("disagg-simulated-shape\n" + shape.describe());
      return new SimulatedBackend(config, options, profile, shape, tokenizer, sha);
    }
    try (GgufFile gguf = GgufFile.open(config.modelPath())) {
      ModelShape shape = ModelShape.fromGguf(gguf);
      return new SimulatedBackend(config, options, profile, shape, GgufTokenizers.fromGguf(gguf), gguf.sha256());
    } catch (GgufException e) {
      throw new BackendException(Code.MODEL_INVALID, config.modelPath() + ": " + e.getMessage(), e);
    }
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The model the timings come from. */
  public Roofline roofline() {
    return roofline;
  }

  /** Whether the KV pool holds virtual payloads (see the class comment). */
  public boolean virtualKv() {
    return virtualKv;
  }

  /** Bytes a KV cache of {@code tokens} positions would have on the simulated hardware (16-bit, full shape). */
  public long simulatedKvBytes(int tokens) {
    return (long) tokens * shape.kvBytesPerToken();
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

  private void ensureOpen() {
    if (closed) {
      throw new BackendException(Code.UNAVAILABLE, "simulated backend is closed");
    }
  }

  private void ensureAccepting() {
    ensureOpen();
    if (draining) {
      throw new BackendException(Code.UNAVAILABLE, "simulated backend is draining: no new prefill or import");
    }
  }

  private void checkTokens(int[] tokens, String what) {
    for (int t : tokens) {
      if (t < 0 || t >= shape.vocabSize()) {
        throw new BackendException(Code.INVALID_ARGUMENT, what + ": token " + t + " outside the vocabulary (expected: "
            + "0.." + (shape.vocabSize() - 1) + ")");
      }
    }
  }

  private long deadline(long start, double seconds) {
    return start + (long) (seconds * options.timeScale() * 1e9);
  }

  private void await(long deadline) {
    if (options.timeScale() > 0) {
      waiter.awaitDeadline(deadline);
    }
  }

  @Override
  public List<PrefillResult> prefill(List<PrefillRequest> requests, PrefillListener listener) {
    long start = System.nanoTime();
    ensureAccepting();
    if (requests.isEmpty()) {
      return List.of();
    }
    int[][] prompts = new int[requests.size()][];
    for (int i = 0; i < requests.size(); i++) {
      PrefillRequest r = requests.get(i);
      prompts[i] = r.promptTokens();
      checkTokens(prompts[i], "prompt of " + r.requestId());
      if (prompts[i].length > shape.contextLength()) {
        throw new BackendException(Code.CONTEXT_OVERFLOW, "prompt of " + r.requestId() + ": " + prompts[i].length
            + " tokens (expected: at most the context length " + shape.contextLength() + ")");
      }
    }
    List<KvReservation> taken = new ArrayList<>(requests.size());
    try {
      for (int i = 0; i < requests.size(); i++) {
        long wanted = Math.min((long) prompts[i].length + requests.get(i).reserveTokens(), shape.contextLength());
        taken.add(pool.reserve(layout.blocksFor((int) wanted)));
      }
    } catch (RuntimeException e) {
      taken.forEach(KvReservation::close);
      throw e;
    }
    double seconds = prefillSeconds(prompts);
    List<SimSequence> sequences = new ArrayList<>(requests.size());
    long[][] hashes = new long[requests.size()][];
    for (int i = 0; i < requests.size(); i++) {
      sequences.add(new SimSequence(this, requests.get(i).requestId(), prompts[i], taken.get(i)));
      hashes[i] = contextHashes(prompts[i]);
    }
    boolean streaming = listener != PrefillListener.NONE;
    for (int layer = 0; layer < shape.layers(); layer++) {
      for (int i = 0; i < sequences.size(); i++) {
        for (int pos = 0; pos < prompts[i].length; pos++) {
          writeSignature(sequences.get(i), pos, layer, hashes[i][pos], prompts[i][pos]);
        }
      }
      if (streaming) { // the layer's KV is "computed" when its share of the pass has elapsed
        await(deadline(start, seconds * (layer + 1) / shape.layers()));
        for (SimSequence s : sequences) {
          listener.onLayerComplete(s, layer);
        }
      }
    }
    await(deadline(start, seconds));
    List<PrefillResult> results = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      SampledToken first = sampler.sample(hashes[i][prompts[i].length - 1], prompts[i].length,
          requests.get(i).sampling());
      results.add(new PrefillResult(sequences.get(i), first, 0));
    }
    return results;
  }

  /**
   * Roofline time of prefilling {@code prompts} together: passes of at most {@code maxBatchTokens} tokens, filled
   * with the prompts in order (a long prompt spans several passes, short ones share one).
   */
  public double prefillSeconds(int[][] prompts) {
    double total = 0;
    int[] newTokens = new int[prompts.length];
    int[] prior = new int[prompts.length];
    int[] done = new int[prompts.length];
    int i = 0;
    while (i < prompts.length) {
      java.util.Arrays.fill(newTokens, 0);
      int budget = maxBatchTokens;
      int j = i;
      while (j < prompts.length && budget > 0) {
        int take = Math.min(budget, prompts[j].length - done[j]);
        newTokens[j] = take;
        prior[j] = done[j];
        done[j] += take;
        budget -= take;
        if (done[j] == prompts[j].length) {
          j++;
        }
      }
      total += roofline.forwardSeconds(newTokens, prior);
      i = j;
    }
    return total;
  }

  private long[] contextHashes(int[] tokens) {
    long[] h = new long[tokens.length];
    long state = seed;
    for (int p = 0; p < tokens.length; p++) {
      state = ContextHash.next(state, tokens[p]);
      h[p] = state;
    }
    return h;
  }

  private void writeSignature(SimSequence s, int position, int layer, long hash, int token) {
    MemorySegment block = s.block(position / layout.blockTokens()).segment();
    int inBlock = position % layout.blockTokens();
    block.set(LONG, layout.offset(layer, false, inBlock), ContextHash.layerSignature(hash, layer));
    if (layer == 0) {
      block.set(LONG, layout.offset(0, true, inBlock), token);
    }
  }

  private static long storedHash(List<KvBlock> blocks, KvLayout layout, int position) {
    return blocks.get(position / layout.blockTokens()).segment()
        .get(LONG, layout.offset(0, false, position % layout.blockTokens()));
  }

  private SimSequence own(Sequence sequence) {
    if (!(sequence instanceof SimSequence s) || s.owner() != this) {
      throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + sequence.requestId()
          + " does not belong to this simulated backend");
    }
    if (s.isClosed()) {
      throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " is closed");
    }
    return s;
  }

  @Override
  public List<SampledToken> decode(List<DecodeSlot> batch) {
    long start = System.nanoTime();
    ensureOpen();
    int n = batch.size();
    SimSequence[] seqs = new SimSequence[n];
    int[] cached = new int[n];
    Set<SimSequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    int growing = 0;
    for (int i = 0; i < n; i++) {
      DecodeSlot slot = batch.get(i);
      SimSequence s = own(slot.sequence());
      if (!seen.add(s)) {
        throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " appears twice in one batch");
      }
      checkTokens(new int[] {slot.inputToken()}, "decode input of " + s.requestId());
      cached[i] = s.cachedTokens();
      if (cached[i] >= shape.contextLength()) {
        throw new BackendException(Code.CONTEXT_OVERFLOW, "sequence " + s.requestId() + " is at the context length "
            + shape.contextLength());
      }
      seqs[i] = s;
      if (cached[i] == s.blockCount() * layout.blockTokens()) {
        growing++;
      }
    }
    List<KvReservation> grown = new ArrayList<>(growing);
    try {
      for (int i = 0; i < n; i++) {
        if (cached[i] == seqs[i].blockCount() * layout.blockTokens()) {
          grown.add(pool.reserve(1));
        }
      }
    } catch (RuntimeException e) {
      grown.forEach(KvReservation::close);
      throw e;
    }
    double seconds = roofline.decodeSeconds(cached);
    long[] hashes = new long[n];
    int g = 0;
    for (int i = 0; i < n; i++) {
      SimSequence s = seqs[i];
      if (cached[i] == s.blockCount() * layout.blockTokens()) {
        s.adopt(grown.get(g++));
      }
      long previous = storedHash(s.blocks(), layout, cached[i] - 1);
      int input = batch.get(i).inputToken();
      hashes[i] = ContextHash.next(previous, input);
      for (int layer = 0; layer < shape.layers(); layer++) {
        writeSignature(s, cached[i], layer, hashes[i], input);
      }
      s.append(input);
    }
    await(deadline(start, seconds));
    List<SampledToken> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(sampler.sample(hashes[i], cached[i] + 1, batch.get(i).sampling()));
    }
    return out;
  }

  @Override
  public KvExport exportKv(Sequence sequence) {
    ensureOpen();
    SimSequence s = own(sequence);
    int tokens = s.cachedTokens();
    List<KvBlock> blocks = s.blocks();
    List<MemorySegment> views = new ArrayList<>();
    for (int b = 0; b < layout.blocksFor(tokens); b++) {
      views.add(blocks.get(b).segment().asReadOnly());
    }
    return new KvExport(s.requestId(), info.fingerprint(), tokens, s.tokens(), views);
  }

  /**
   * Adopts a transferred cache after checking fingerprint, size and contents, then waits the profile's interconnect
   * time for the full-shape payload ({@link Roofline#transferSeconds}), so that TTFT includes the simulated transfer.
   */
  @Override
  public Sequence importKv(KvReservation reservation, KvImport header) {
    long start = System.nanoTime();
    ensureAccepting();
    ModelFingerprint own = info.fingerprint();
    if (!header.fingerprint().equals(own)) {
      throw new BackendException(Code.KV_MISMATCH, "KV cache of " + header.requestId() + " has fingerprint "
          + header.fingerprint().value() + " (expected: " + own.value() + ")");
    }
    int[] tokens = header.tokens();
    if (tokens.length > shape.contextLength()) {
      throw new BackendException(Code.CONTEXT_OVERFLOW, "KV cache of " + header.requestId() + ": " + tokens.length
          + " tokens (expected: at most " + shape.contextLength() + ")");
    }
    try {
      checkTokens(tokens, "KV cache of " + header.requestId());
    } catch (BackendException e) {
      throw new BackendException(Code.KV_MISMATCH, e.getMessage(), e);
    }
    List<KvBlock> blocks = reservation.blocks();
    int needed = layout.blocksFor(tokens.length);
    if (blocks.size() < needed) {
      throw new BackendException(Code.KV_MISMATCH, "KV cache of " + header.requestId() + ": " + tokens.length
          + " tokens need " + needed + " blocks, the reservation holds " + blocks.size());
    }
    long[] expected = contextHashes(tokens);
    if (storedHash(blocks, layout, tokens.length - 1) != expected[tokens.length - 1]) {
      throw new BackendException(Code.KV_MISMATCH, "KV cache of " + header.requestId()
          + ": the blocks do not hold the state of its tokens (payload missing or corrupt)");
    }
    SimSequence s = new SimSequence(this, header.requestId(), tokens, reservation.handOver());
    await(deadline(start, roofline.transferSeconds(simulatedKvBytes(tokens.length))));
    return s;
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
    if (closed) {
      return;
    }
    closed = true;
    draining = true;
    pool.close();
  }

  @Override
  public String toString() {
    return "SimulatedBackend[" + shape.name() + " on " + options.devices() + "× " + profile.name()
        + (virtualKv ? ", virtual KV" : ", real KV") + "]";
  }
}
