package io.disagg.backend.llamacpp.internal;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BOOLEAN;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.BackendException.Code;
import io.disagg.backend.spi.DecodeSlot;
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
import io.disagg.gguf.GgufException;
import io.disagg.gguf.GgufFile;
import io.disagg.gguf.GgufTokenizers;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * llama.cpp (build b4916, CPU) behind the SPI. One {@code llama_model} and one {@code llama_context} per backend; each
 * SPI sequence is one llama.cpp sequence id in that context's unified KV cache, so prefill and decode steps over many
 * sequences go into one {@code llama_batch}. Sampling runs in Java on the logits ({@link LogitSampler}).
 *
 * <p>KV blocks: the SPI pool ({@link KvLayout} blocks, the cache's dtype) bounds how many positions are live, and
 * llama.cpp's cache is sized to the pool plus one batch of slack. The cache itself stays inside llama.cpp while a
 * sequence computes; {@link #exportKv} asks for the sequence's state bytes and rewrites them into the sequence's
 * blocks in the SPI layout ({@link StateCodec}), {@link #importKv} does the reverse and hands the bytes to
 * {@code llama_state_seq_set_data}. So a block's memory holds the cache only after an export or before an import.
 *
 * <p>Native memory: the batch arrays live in an arena owned by this backend and freed by {@link #close()}; state
 * buffers for export and import live in a confined arena per call. Compute methods and {@link #close()} synchronise on
 * this backend, so a close racing a step waits instead of freeing memory under it; {@link Sequence#close()} only
 * queues the sequence id, whose cells the next compute call clears.
 */
public final class LlamaCppBackend implements Backend {
  /** Option: compute threads for llama.cpp (default: the config's {@code threads}). */
  public static final String THREADS = "llamacpp.threads";
  /** Option: KV cache element type, {@code f16} (default, llama.cpp's) or {@code f32}. */
  public static final String KV_TYPE = "llamacpp.kv-type";
  /** Option: most sequences alive at once, i.e. llama.cpp sequence ids (default: min(kvBlocks, 64)). */
  public static final String MAX_SEQUENCES = "llamacpp.max-sequences";
  /** Option: a llama.cpp b4916 shared library to load instead of the one in the carrier jar. */
  public static final String LIBRARY = "llamacpp.library";
  private static final List<String> OPTIONS = List.of(THREADS, KV_TYPE, MAX_SEQUENCES, LIBRARY);

  private final LlamaLibrary lib;
  private final GgufFile gguf;
  private final Arena arena = Arena.ofShared();
  private final MemorySegment model;
  private final MemorySegment ctx;
  private final ModelInfo info;
  private final Tokenizer tokenizer;
  private final KvLayout layout;
  private final KvBlockPool pool;
  private final LogitSampler sampler = new LogitSampler();
  private final int vocab;
  private final int contextLength;
  private final int batchCapacity;
  private final int threads;
  private final boolean vTrans = true; // flash attention stays off, so b4916 keeps V transposed
  private final ArrayDeque<Integer> freeSeqIds = new ArrayDeque<>();
  private final ConcurrentLinkedQueue<Integer> closedSeqIds = new ConcurrentLinkedQueue<>();
  private final Set<LlamaSequence> live = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
  private final MemorySegment batch;
  private final MemorySegment batchTokens;
  private final MemorySegment batchPos;
  private final MemorySegment batchNSeqId;
  private final MemorySegment batchSeqIds;
  private final MemorySegment batchLogits;
  private volatile boolean draining;
  private volatile boolean closed;

  private LlamaCppBackend(BackendConfig config, LlamaLibrary lib, GgufFile gguf) {
    this.lib = lib;
    this.gguf = gguf;
    this.threads = intOption(config, THREADS, config.threads());
    KvDtype dtype = switch (config.options().getOrDefault(KV_TYPE, "f16").trim()) {
      case "f16" -> KvDtype.F16;
      case "f32" -> KvDtype.F32;
      default -> throw new IllegalArgumentException(KV_TYPE + ": " + config.options().get(KV_TYPE)
          + " (expected: f16 or f32)");
    };
    int maxSequences = intOption(config, MAX_SEQUENCES, Math.min(config.kvBlocks(), 64));
    this.tokenizer = GgufTokenizers.fromGguf(gguf);
    String sha256 = gguf.sha256();
    try (Arena call = Arena.ofConfined()) {
      MemorySegment mp = (MemorySegment) lib.modelDefaultParams.invokeExact((SegmentAllocator) call);
      mp.set(JAVA_INT, 8, 0); // n_gpu_layers: this build is CPU-only
      MemorySegment path = call.allocateFrom(gguf.path().toAbsolutePath().toString());
      this.model = (MemorySegment) lib.modelLoadFromFile.invokeExact(path, mp);
    } catch (BackendException e) {
      throw e;
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama_model_load_from_file: " + t, t);
    }
    if (model.equals(MemorySegment.NULL)) {
      throw new BackendException(Code.MODEL_INVALID, gguf.path() + ": llama.cpp b" + LlamaLibrary.BUILD_NUMBER
          + " cannot load this model (architecture " + gguf.findString("general.architecture").orElse("?") + ")");
    }
    MemorySegment context = MemorySegment.NULL;
    try {
      int layers = callInt(lib.modelNLayer, model);
      int embd = callInt(lib.modelNEmbd, model);
      int heads = callInt(lib.modelNHead, model);
      int kvHeads = callInt(lib.modelNHeadKv, model);
      MemorySegment vocabPtr = (MemorySegment) lib.modelGetVocab.invokeExact(model);
      this.vocab = (int) lib.vocabNTokens.invokeExact(vocabPtr);
      this.contextLength = callInt(lib.modelNCtxTrain, model);
      long params = (long) lib.modelNParams.invokeExact(model);
      long bytes = (long) lib.modelSize.invokeExact(model);
      int headDim = embd / heads;
      this.layout = new KvLayout(layers, kvHeads, headDim, dtype, config.blockTokens());
      String arch = gguf.findString("general.architecture").orElse("llama");
      int ffn = (int) gguf.findLong(arch + ".feed_forward_length").orElse(0);
      this.info = new ModelInfo(gguf.findString("general.name").orElse(gguf.path().getFileName().toString()), arch,
          layers, embd, heads, kvHeads, headDim, ffn, vocab, contextLength, params, bytes,
          new ModelFingerprint(sha256, layout, lib.engineTag()), gguf.findString("tokenizer.chat_template"));
      this.batchCapacity = Math.max(config.maxBatchTokens(), maxSequences);
      long cells = (long) config.kvBlocks() * config.blockTokens() + batchCapacity;
      if (cells > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("kvBlocks x blockTokens: " + cells + " positions (expected: < 2^31)");
      }
      try (Arena call = Arena.ofConfined()) {
        MemorySegment cp = (MemorySegment) lib.contextDefaultParams.invokeExact((SegmentAllocator) call);
        cp.set(JAVA_INT, 0, (int) cells); // n_ctx
        cp.set(JAVA_INT, 4, batchCapacity); // n_batch
        cp.set(JAVA_INT, 8, batchCapacity); // n_ubatch
        cp.set(JAVA_INT, 12, maxSequences); // n_seq_max
        cp.set(JAVA_INT, 16, threads); // n_threads
        cp.set(JAVA_INT, 20, threads); // n_threads_batch
        cp.set(JAVA_INT, 0x58, StateCodec.ggmlType(dtype)); // type_k
        cp.set(JAVA_INT, 0x5c, StateCodec.ggmlType(dtype)); // type_v
        cp.set(JAVA_BOOLEAN, 0x63, false); // flash_attn: off, so V stays transposed (StateCodec relies on it)
        cp.set(JAVA_BOOLEAN, 0x64, true); // no_perf
        context = (MemorySegment) lib.initFromModel.invokeExact(model, cp);
      }
      if (context.equals(MemorySegment.NULL)) {
        throw new BackendException(Code.MODEL_INVALID, gguf.path() + ": llama_init_from_model failed for "
            + cells + " KV positions");
      }
    } catch (RuntimeException | Error e) {
      freeNative(context);
      throw e;
    } catch (Throwable t) {
      freeNative(context);
      throw new BackendException(Code.INTERNAL, "llama.cpp context: " + t, t);
    }
    this.ctx = context;
    for (int i = 0; i < maxSequences; i++) {
      freeSeqIds.add(i);
    }
    this.pool = KvBlockPools.offHeap(layout, config.kvBlocks());
    batch = arena.allocate(LlamaLibrary.BATCH);
    batchTokens = arena.allocate(JAVA_INT, batchCapacity);
    batchPos = arena.allocate(JAVA_INT, batchCapacity);
    batchNSeqId = arena.allocate(JAVA_INT, batchCapacity);
    MemorySegment seqIdStore = arena.allocate(JAVA_INT, batchCapacity);
    batchSeqIds = arena.allocate(ADDRESS, batchCapacity);
    for (int i = 0; i < batchCapacity; i++) {
      batchSeqIds.setAtIndex(ADDRESS, i, seqIdStore.asSlice(4L * i, 4));
      batchNSeqId.setAtIndex(JAVA_INT, i, 1);
    }
    batchLogits = arena.allocate(JAVA_BYTE, batchCapacity);
    batch.set(ADDRESS, 8, batchTokens);
    batch.set(ADDRESS, 16, MemorySegment.NULL);
    batch.set(ADDRESS, 24, batchPos);
    batch.set(ADDRESS, 32, batchNSeqId);
    batch.set(ADDRESS, 40, batchSeqIds);
    batch.set(ADDRESS, 48, batchLogits);
  }

  /**
   * Validates the model with the project's GGUF parser, then loads it into llama.cpp.
   *
   * @throws BackendException {@code MODEL_INVALID} for a file the parser refuses, a model llama.cpp cannot load, or a
   *     library that is not build b4916
   * @throws IllegalArgumentException for an unknown {@code llamacpp.*} option or a bad option value
   */
  public static LlamaCppBackend open(BackendConfig config) {
    for (String key : config.options().keySet()) {
      if (key.startsWith("llamacpp.") && !OPTIONS.contains(key)) {
        throw new IllegalArgumentException("option " + key + ": unknown (expected: one of " + OPTIONS + ")");
      }
    }
    String library = config.options().get(LIBRARY);
    if (library != null && !Files.isReadable(Path.of(library))) {
      throw new IllegalArgumentException(LIBRARY + ": " + library + " (expected: a readable file)");
    }
    GgufFile gguf;
    try {
      gguf = GgufFile.open(config.modelPath());
    } catch (GgufException e) {
      throw new BackendException(Code.MODEL_INVALID, e.getMessage(), e);
    }
    try {
      LlamaLibrary lib = LlamaLibrary.load(library == null ? null : Path.of(library));
      return new LlamaCppBackend(config, lib, gguf);
    } catch (GgufException e) {
      gguf.close();
      throw new BackendException(Code.MODEL_INVALID, config.modelPath() + ": " + e.getMessage(), e);
    } catch (RuntimeException | Error e) {
      gguf.close();
      throw e;
    }
  }

  private static int intOption(BackendConfig config, String key, int fallback) {
    String value = config.options().get(key);
    if (value == null) {
      return fallback;
    }
    try {
      int v = Integer.parseInt(value.trim());
      if (v > 0) {
        return v;
      }
    } catch (NumberFormatException e) {
      // reported below
    }
    throw new IllegalArgumentException(key + ": " + value + " (expected: an integer > 0)");
  }

  /** The llama.cpp build's commit and CPU features, for logs. */
  public String engineDescription() {
    return "llama.cpp b" + LlamaLibrary.BUILD_NUMBER + " (" + lib.commit() + "), " + threads + " threads, "
        + lib.systemInfo().strip();
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

  @Override
  public synchronized List<PrefillResult> prefill(List<PrefillRequest> requests, PrefillListener listener) {
    requireAccepting();
    clearClosedSequences();
    for (PrefillRequest r : requests) {
      checkTokens(r.requestId(), r.promptTokens());
      if (r.promptTokens().length > contextLength) {
        throw new BackendException(Code.CONTEXT_OVERFLOW, "prompt of " + r.requestId() + ": "
            + r.promptTokens().length + " tokens (expected: <= context length " + contextLength + ")");
      }
    }
    if (requests.size() > freeSeqIds.size()) {
      throw new BackendException(Code.RESOURCE_EXHAUSTED, requests.size() + " new sequences, " + freeSeqIds.size()
          + " sequence slots free (option " + MAX_SEQUENCES + ")");
    }
    List<KvReservation> reservations = new ArrayList<>(requests.size());
    try {
      for (PrefillRequest r : requests) {
        int positions = (int) Math.min((long) r.promptTokens().length + r.reserveTokens(), contextLength);
        reservations.add(pool.reserve(layout.blocksFor(positions)));
      }
    } catch (KvPoolExhaustedException e) {
      reservations.forEach(KvReservation::close);
      throw e;
    }
    List<LlamaSequence> sequences = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      PrefillRequest r = requests.get(i);
      sequences.add(new LlamaSequence(this, r.requestId(), freeSeqIds.poll(), r.promptTokens(), 0,
          r.promptTokens().length, reservations.get(i).handOver(), this::sequenceClosed));
    }
    SampledToken[] first = new SampledToken[requests.size()];
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < requests.size(); i++) {
      int[] prompt = requests.get(i).promptTokens();
      for (int p = 0; p < prompt.length; p++) {
        int index = i;
        boolean last = p == prompt.length - 1;
        rows.add(new Row(sequences.get(i), prompt[p], p, last ? logits -> first[index] = sampler.sample(logits,
            requests.get(index).sampling(), new int[0], prompt.length) : null));
      }
    }
    try {
      run(rows);
    } catch (RuntimeException | Error e) {
      sequences.forEach(LlamaSequence::close);
      clearClosedSequences();
      throw e;
    }
    List<PrefillResult> results = new ArrayList<>(requests.size());
    for (int i = 0; i < requests.size(); i++) {
      LlamaSequence s = sequences.get(i);
      int[] prompt = requests.get(i).promptTokens();
      for (int p = 0; p < prompt.length; p++) {
        s.append(prompt[p]);
      }
      live.add(s);
      results.add(new PrefillResult(s, first[i], 0));
    }
    // llama_decode computes every layer in one graph: all layers are complete together, told in order.
    for (PrefillResult r : results) {
      for (int layer = 0; layer < layout.layers(); layer++) {
        listener.onLayerComplete(r.sequence(), layer);
      }
    }
    return results;
  }

  @Override
  public synchronized List<SampledToken> decode(List<DecodeSlot> slots) {
    requireOpen();
    clearClosedSequences();
    Set<LlamaSequence> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
    List<LlamaSequence> sequences = new ArrayList<>(slots.size());
    for (DecodeSlot slot : slots) {
      LlamaSequence s = own(slot.sequence());
      if (!seen.add(s)) {
        throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " twice in one step");
      }
      checkTokens(s.requestId(), new int[] {slot.inputToken()});
      if (s.cachedTokens() + 1 > contextLength) {
        throw new BackendException(Code.CONTEXT_OVERFLOW, "sequence " + s.requestId()
            + " is at the context length " + contextLength);
      }
      sequences.add(s);
    }
    // All or nothing: when a reservation fails, the ones made so far go back and no sequence changes.
    List<KvReservation> extra = new ArrayList<>(sequences.size());
    try {
      for (LlamaSequence s : sequences) {
        extra.add(layout.blocksFor(s.cachedTokens() + 1) > s.blockCount() ? pool.reserve(1) : null);
      }
    } catch (KvPoolExhaustedException e) {
      extra.stream().filter(java.util.Objects::nonNull).forEach(KvReservation::close);
      throw e;
    }
    SampledToken[] out = new SampledToken[slots.size()];
    List<Row> rows = new ArrayList<>(slots.size());
    for (int i = 0; i < slots.size(); i++) {
      int index = i;
      LlamaSequence s = sequences.get(i);
      DecodeSlot slot = slots.get(i);
      rows.add(new Row(s, slot.inputToken(), s.cachedTokens(), logits -> {
        int[] generated = Arrays.copyOf(s.generatedTokens(), s.cachedTokens() - s.promptTokens() + 1);
        generated[generated.length - 1] = slot.inputToken();
        out[index] = sampler.sample(logits, slot.sampling(), generated, s.cachedTokens() + 1);
      }));
    }
    int[] before = sequences.stream().mapToInt(LlamaSequence::cachedTokens).toArray();
    try {
      run(rows);
    } catch (RuntimeException | Error e) {
      for (int i = 0; i < sequences.size(); i++) {
        removeCells(sequences.get(i).seqId(), before[i]);
      }
      extra.stream().filter(java.util.Objects::nonNull).forEach(KvReservation::close);
      throw e;
    }
    for (int i = 0; i < sequences.size(); i++) {
      LlamaSequence s = sequences.get(i);
      s.append(slots.get(i).inputToken());
      if (extra.get(i) != null) {
        s.grow(extra.get(i).handOver());
      }
    }
    return Arrays.asList(out);
  }

  @Override
  public synchronized KvExport exportKv(Sequence sequence) {
    requireOpen();
    clearClosedSequences();
    LlamaSequence s = own(sequence);
    int n = s.cachedTokens();
    try (Arena call = Arena.ofConfined()) {
      long size = (long) lib.stateSeqGetSize.invokeExact(ctx, s.seqId());
      long expected = StateCodec.stateBytes(layout, n, vTrans);
      if (size != expected) {
        throw new BackendException(Code.INTERNAL, "llama.cpp state of " + s.requestId() + ": " + size
            + " bytes (expected: " + expected + " for " + n + " tokens of " + layout.describe() + ")");
      }
      MemorySegment state = call.allocate(size, 16);
      long written = (long) lib.stateSeqGetData.invokeExact(ctx, state, size, s.seqId());
      if (written != size) {
        throw new BackendException(Code.INTERNAL, "llama_state_seq_get_data wrote " + written + " of " + size);
      }
      List<io.disagg.backend.spi.KvBlock> blocks = s.blocks().subList(0, layout.blocksFor(n));
      StateCodec.scatter(state, layout, n, blocks);
      return new KvExport(s.requestId(), info.fingerprint(), n, s.tokens(),
          blocks.stream().map(b -> b.segment().asReadOnly()).toList());
    } catch (BackendException e) {
      throw e;
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "export of " + s.requestId() + ": " + t, t);
    }
  }

  @Override
  public synchronized Sequence importKv(KvReservation reservation, KvImport header) {
    requireAccepting();
    clearClosedSequences();
    ModelFingerprint own = info.fingerprint();
    if (!own.equals(header.fingerprint())) {
      throw new BackendException(Code.KV_MISMATCH, "KV of " + header.requestId() + ": offered "
          + header.fingerprint().value() + ", this backend is " + own.value());
    }
    int[] tokens = header.tokens();
    checkTokens(header.requestId(), tokens);
    if (tokens.length > contextLength) {
      throw new BackendException(Code.CONTEXT_OVERFLOW, "KV of " + header.requestId() + ": " + tokens.length
          + " tokens (expected: <= context length " + contextLength + ")");
    }
    int need = layout.blocksFor(tokens.length);
    if (reservation.blocks().size() < need) {
      throw new BackendException(Code.KV_MISMATCH, "KV of " + header.requestId() + ": " + tokens.length
          + " tokens need " + need + " blocks, the reservation holds " + reservation.blocks().size());
    }
    Integer seqId = freeSeqIds.poll();
    if (seqId == null) {
      throw new BackendException(Code.RESOURCE_EXHAUSTED, "no free sequence slot (option " + MAX_SEQUENCES + ")");
    }
    try (Arena call = Arena.ofConfined()) {
      long size = StateCodec.stateBytes(layout, tokens.length, vTrans);
      MemorySegment state = call.allocate(size, 16);
      long written = StateCodec.gather(reservation.blocks(), layout, tokens.length, vTrans, state);
      long read = (long) lib.stateSeqSetData.invokeExact(ctx, state, written, (int) seqId);
      if (read != written) {
        removeCells(seqId, 0);
        freeSeqIds.add(seqId);
        throw new BackendException(Code.RESOURCE_EXHAUSTED, "llama.cpp refused the KV of " + header.requestId()
            + " (no contiguous run of " + tokens.length + " free cells, or a malformed state)");
      }
    } catch (BackendException e) {
      throw e;
    } catch (Throwable t) {
      removeCells(seqId, 0);
      freeSeqIds.add(seqId);
      throw new BackendException(Code.INTERNAL, "import of " + header.requestId() + ": " + t, t);
    }
    LlamaSequence s = new LlamaSequence(this, header.requestId(), seqId, tokens, tokens.length, tokens.length,
        reservation.handOver(), this::sequenceClosed);
    live.add(s);
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
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    draining = true;
    for (LlamaSequence s : List.copyOf(live)) {
      s.close();
    }
    live.clear();
    freeNative(ctx);
    arena.close();
    pool.close();
    gguf.close();
  }

  private void freeNative(MemorySegment context) {
    try {
      if (!context.equals(MemorySegment.NULL)) {
        lib.free.invokeExact(context);
      }
      if (model != null && !model.equals(MemorySegment.NULL)) {
        lib.modelFree.invokeExact(model);
      }
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama.cpp free: " + t, t);
    }
  }

  /** One token of one sequence in a batch; {@code onLogits} (if any) samples from its logits. */
  private record Row(LlamaSequence sequence, int token, int position, java.util.function.Consumer<float[]> onLogits) {}

  /** Feeds {@code rows} to llama_decode in batches of at most {@link #batchCapacity}, sampling after each batch. */
  private void run(List<Row> rows) {
    float[] logits = new float[vocab];
    for (int start = 0; start < rows.size(); start += batchCapacity) {
      int n = Math.min(batchCapacity, rows.size() - start);
      for (int i = 0; i < n; i++) {
        Row r = rows.get(start + i);
        batchTokens.setAtIndex(JAVA_INT, i, r.token());
        batchPos.setAtIndex(JAVA_INT, i, r.position());
        batchSeqIds.getAtIndex(ADDRESS, i).reinterpret(4).set(JAVA_INT, 0, r.sequence().seqId());
        batchLogits.set(JAVA_BYTE, i, (byte) (r.onLogits() == null ? 0 : 1));
      }
      batch.set(JAVA_INT, 0, n);
      int rc;
      try {
        rc = (int) lib.decode.invokeExact(ctx, batch);
      } catch (Throwable t) {
        throw new BackendException(Code.INTERNAL, "llama_decode: " + t, t);
      }
      if (rc == 1) {
        throw new BackendException(Code.RESOURCE_EXHAUSTED, "llama_decode: no free KV slot for " + n + " tokens");
      }
      if (rc != 0) {
        throw new BackendException(Code.INTERNAL, "llama_decode returned " + rc);
      }
      for (int i = 0; i < n; i++) {
        Row r = rows.get(start + i);
        if (r.onLogits() != null) {
          MemorySegment row;
          try {
            row = (MemorySegment) lib.getLogitsIth.invokeExact(ctx, i);
          } catch (Throwable t) {
            throw new BackendException(Code.INTERNAL, "llama_get_logits_ith: " + t, t);
          }
          MemorySegment.copy(row.reinterpret(4L * vocab), JAVA_FLOAT, 0, logits, 0, vocab);
          r.onLogits().accept(logits);
        }
      }
    }
  }

  private void sequenceClosed(int seqId) {
    closedSeqIds.add(seqId);
  }

  /** Clears the cells of sequences closed since the last call and makes their ids reusable. Compute thread only. */
  private void clearClosedSequences() {
    Integer id;
    while ((id = closedSeqIds.poll()) != null) {
      if (!closed) {
        removeCells(id, 0);
      }
      freeSeqIds.add(id);
      int seq = id;
      live.removeIf(s -> s.seqId() == seq);
    }
  }

  private void removeCells(int seqId, int from) {
    try {
      boolean ok = (boolean) lib.kvSeqRm.invokeExact(ctx, seqId, from, -1);
      if (!ok) {
        throw new BackendException(Code.INTERNAL, "llama_kv_self_seq_rm(" + seqId + ", " + from + ") failed");
      }
    } catch (BackendException e) {
      throw e;
    } catch (Throwable t) {
      throw new BackendException(Code.INTERNAL, "llama_kv_self_seq_rm: " + t, t);
    }
  }

  private LlamaSequence own(Sequence sequence) {
    if (!(sequence instanceof LlamaSequence s) || !s.ownedBy(this)) {
      throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + sequence.requestId()
          + " does not belong to this backend");
    }
    if (s.isClosed()) {
      throw new BackendException(Code.INVALID_ARGUMENT, "sequence " + s.requestId() + " is closed");
    }
    return s;
  }

  private void checkTokens(String requestId, int[] tokens) {
    for (int t : tokens) {
      if (t < 0 || t >= vocab) {
        throw new BackendException(Code.INVALID_ARGUMENT, "request " + requestId + ": token id " + t
            + " (expected: 0.." + (vocab - 1) + ")");
      }
    }
  }

  private void requireOpen() {
    if (closed) {
      throw new BackendException(Code.UNAVAILABLE, "backend is closed");
    }
  }

  private void requireAccepting() {
    requireOpen();
    if (draining) {
      throw new BackendException(Code.UNAVAILABLE, "backend is draining");
    }
  }

  private static int callInt(java.lang.invoke.MethodHandle h, MemorySegment model) throws Throwable {
    return (int) h.invokeExact(model);
  }

  @Override
  public String toString() {
    return "LlamaCppBackend[" + info.name() + ", " + info.fingerprint() + "]";
  }
}
