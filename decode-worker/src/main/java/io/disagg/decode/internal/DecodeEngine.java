package io.disagg.decode.internal;

import static io.disagg.worker.EngineLoop.micros;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import io.disagg.worker.EngineLoop;
import io.disagg.worker.RateMeter;
import io.disagg.worker.Statuses;
import io.disagg.worker.WorkerMetrics;
import io.grpc.Status;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The decode worker's engine: one thread that owns the {@link Backend} and runs continuous batching. Each iteration
 * it takes new requests from a bounded inbox, drops cancelled ones (closing their sequences frees their blocks),
 * admits waiting requests within the batch-size and tokens-per-step limits (imports of transferred caches and
 * colocated prefills, the latter only when the pool has room for prompt plus generation budget), runs one
 * {@code decode} step over every running sequence whose client can take more, and hands out the tokens. When there
 * is nothing to do it blocks on a condition; it never spins.
 */
public final class DecodeEngine implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DecodeEngine.class);

  private final Backend backend;
  private final Tokenizer tokenizer;
  private final int contextLength;
  private final KvLayout layout;
  private final int maxBatchSize;
  private final int maxBatchTokens;
  private final int queueCapacity;
  private final Clock clock;
  private final RateMeter tokenRate;
  private final WorkerMetrics metrics;

  private final EngineLoop loop;
  private final ArrayDeque<DecodeStream> inbox = new ArrayDeque<>(); // guarded by loop's lock

  // engine thread only
  private final ArrayDeque<DecodeStream> waiting = new ArrayDeque<>();
  private final List<DecodeStream> running = new ArrayList<>();

  private final AtomicInteger queueDepth = new AtomicInteger();
  private volatile int runningCount;
  private final AtomicLong tokensGenerated = new AtomicLong();
  private final AtomicLong colocatedPrefills = new AtomicLong();
  private final AtomicLong imports = new AtomicLong();
  private final AtomicLong cancellations = new AtomicLong();

  public DecodeEngine(Backend backend, int maxBatchSize, int maxBatchTokens, int queueCapacity, Clock clock,
      RateMeter tokenRate, WorkerMetrics metrics) {
    this.backend = backend;
    this.tokenizer = backend.tokenizer();
    this.contextLength = backend.model().contextLength();
    this.layout = backend.kvPool().layout();
    this.maxBatchSize = maxBatchSize;
    this.maxBatchTokens = maxBatchTokens;
    this.queueCapacity = queueCapacity;
    this.clock = clock;
    this.tokenRate = tokenRate;
    this.metrics = metrics;
    this.loop = new EngineLoop("decode-engine", this::run);
  }

  public void start() {
    loop.start();
  }

  /**
   * Queues a request for admission. On rejection (queue full, stopping) the stream is failed and its reservation, if
   * any, released.
   */
  public void submit(DecodeStream stream) {
    Status rejection = null;
    loop.lock();
    try {
      if (loop.isStopping()) {
        rejection = Status.UNAVAILABLE.withDescription("decode worker is shutting down");
      } else if (queueDepth.get() >= queueCapacity) {
        rejection = Status.RESOURCE_EXHAUSTED.withDescription(
            "decode queue full: " + queueDepth.get() + " requests waiting (capacity " + queueCapacity + ")");
      } else {
        queueDepth.incrementAndGet();
        inbox.add(stream);
        loop.signal();
      }
    } finally {
      loop.unlock();
    }
    // failed outside the lock: the sink's handlers take this lock while holding theirs
    if (rejection != null) {
      stream.fail(rejection);
    }
  }

  /** Tells the engine something changed (a stream became writable or was cancelled, blocks were freed). */
  public void wakeup() {
    loop.wakeup();
  }

  /** A client went away; counted at once, freed by the engine's next iteration. */
  public void noteCancelled() {
    cancellations.incrementAndGet();
  }

  public long cancellations() {
    return cancellations.get();
  }

  /** Requests waiting for admission (inbox and waiting list). */
  public int queueDepth() {
    return queueDepth.get();
  }

  public int runningSequences() {
    return runningCount;
  }

  public long tokensGenerated() {
    return tokensGenerated.get();
  }

  public long colocatedPrefills() {
    return colocatedPrefills.get();
  }

  public long imports() {
    return imports.get();
  }

  /** Whether nothing is queued or running. */
  public boolean isIdle() {
    return queueDepth.get() == 0 && runningCount == 0;
  }

  private void run() {
    boolean progress = false;
    try {
      while (true) {
        if (!takeInbox(!progress)) {
          break;
        }
        progress = false;
        progress |= reapCancelled();
        progress |= admit();
        progress |= step();
        runningCount = running.size();
      }
    } catch (Throwable t) {
      log.error("decode engine failed; failing every request it held", t);
    } finally {
      failAll(Status.UNAVAILABLE.withDescription("decode worker stopped"));
    }
  }

  /** Moves new requests to the waiting list, blocking first when the last iteration did nothing. */
  private boolean takeInbox(boolean block) throws InterruptedException {
    loop.lock();
    try {
      if (block) {
        while (!loop.isStopping() && !loop.isSignalled() && inbox.isEmpty()) {
          loop.await();
        }
      }
      loop.clearSignal();
      if (loop.isStopping()) {
        return false;
      }
      waiting.addAll(inbox);
      inbox.clear();
      return true;
    } finally {
      loop.unlock();
    }
  }

  private boolean reapCancelled() {
    boolean any = false;
    for (var it = waiting.iterator(); it.hasNext(); ) {
      DecodeStream s = it.next();
      if (s.isCancelled()) {
        it.remove();
        queueDepth.decrementAndGet();
        s.end();
        any = true;
      }
    }
    for (var it = running.iterator(); it.hasNext(); ) {
      DecodeStream s = it.next();
      if (s.isCancelled()) {
        it.remove();
        s.end();
        any = true;
      }
    }
    return any;
  }

  private boolean admit() {
    boolean any = false;
    List<DecodeStream> prefills = new ArrayList<>();
    int prefillTokens = 0;
    int plannedBlocks = 0;
    while (!waiting.isEmpty() && running.size() + prefills.size() < maxBatchSize) {
      DecodeStream s = waiting.peek();
      if (s.isImport()) {
        waiting.poll();
        queueDepth.decrementAndGet();
        any = true;
        startImport(s);
        continue;
      }
      int need = layout.blocksFor(s.prompt.length + s.reserveTokens(contextLength));
      // a prompt longer than the per-step budget still runs, but alone
      if (!prefills.isEmpty() && running.size() + prefillTokens + s.prompt.length > maxBatchTokens) {
        break;
      }
      if (backend.kvPool().freeBlocks() - plannedBlocks < need) {
        if (running.isEmpty() && prefills.isEmpty()) {
          waiting.poll();
          queueDepth.decrementAndGet();
          any = true;
          s.fail(Status.RESOURCE_EXHAUSTED.withDescription("no KV room: request needs " + need + " blocks, "
              + backend.kvPool().freeBlocks() + " free of " + backend.kvPool().totalBlocks()));
          continue;
        }
        break; // wait for running sequences to finish and free their blocks
      }
      waiting.poll();
      queueDepth.decrementAndGet();
      prefills.add(s);
      prefillTokens += s.prompt.length;
      plannedBlocks += need;
    }
    if (!prefills.isEmpty()) {
      any = true;
      prefill(prefills);
    }
    return any;
  }

  private void startImport(DecodeStream s) {
    if (s.isCancelled()) {
      s.end();
      return;
    }
    Sequence seq;
    try {
      seq = backend.importKv(s.reservation, s.kvImport);
    } catch (BackendException e) {
      s.fail(Statuses.of(e));
      return;
    }
    imports.incrementAndGet();
    long queuedUs = micros(s.enqueuedAt, clock.instant());
    s.start(seq, s.firstToken, tokenizer, contextLength, b -> b.setQueuedUs(queuedUs));
    tokensGenerated.incrementAndGet();
    if (!s.finished) {
      running.add(s);
    }
  }

  private void prefill(List<DecodeStream> batch) {
    List<PrefillRequest> requests = new ArrayList<>(batch.size());
    for (DecodeStream s : batch) {
      requests.add(new PrefillRequest(s.requestId, s.prompt, s.sampling, s.reserveTokens(contextLength)));
    }
    Instant started = clock.instant();
    List<PrefillResult> results;
    try {
      results = backend.prefill(requests, PrefillListener.NONE);
    } catch (BackendException e) {
      if (e.code() == BackendException.Code.RESOURCE_EXHAUSTED && !running.isEmpty()) {
        // a concurrent ReserveKv took the blocks; retry once running sequences free some
        for (int i = batch.size() - 1; i >= 0; i--) {
          waiting.addFirst(batch.get(i));
          queueDepth.incrementAndGet();
        }
        return;
      }
      Status status = Statuses.of(e);
      batch.forEach(s -> s.fail(status));
      return;
    } catch (RuntimeException e) {
      log.error("prefill of {} colocated requests failed", batch.size(), e);
      Status status = Statuses.of(e);
      batch.forEach(s -> s.fail(status));
      return;
    }
    Instant ended = clock.instant();
    long prefillUs = micros(started, ended);
    colocatedPrefills.addAndGet(batch.size());
    int promptTokens = 0;
    int cachedTokens = 0;
    for (int i = 0; i < batch.size(); i++) {
      promptTokens += batch.get(i).prompt.length;
      cachedTokens += results.get(i).cachedPromptTokens();
    }
    metrics.prefillBatch(batch.size(), promptTokens, cachedTokens, Duration.between(started, ended));
    for (int i = 0; i < batch.size(); i++) {
      DecodeStream s = batch.get(i);
      PrefillResult r = results.get(i);
      long queuedUs = micros(s.enqueuedAt, started);
      int cached = r.cachedPromptTokens();
      s.start(r.sequence(), r.firstToken(), tokenizer, contextLength,
          b -> b.setPrefillUs(prefillUs).setQueuedUs(queuedUs).setCachedPromptTokens(cached));
      tokensGenerated.incrementAndGet();
      if (s.isCancelled()) {
        s.end();
      } else if (!s.finished) {
        running.add(s);
      }
    }
    tokenRate.record(batch.size());
  }

  private boolean step() {
    List<DecodeStream> batch = new ArrayList<>(running.size());
    for (DecodeStream s : running) {
      if (s.sink.wantsMore()) {
        batch.add(s);
      }
    }
    if (batch.isEmpty()) {
      return false;
    }
    List<DecodeSlot> slots = new ArrayList<>(batch.size());
    for (DecodeStream s : batch) {
      slots.add(new DecodeSlot(s.sequence, s.nextInput, s.sampling));
    }
    List<SampledToken> results;
    Instant started = clock.instant();
    try {
      results = backend.decode(slots);
    } catch (BackendException e) {
      onStepFailure(batch, e);
      running.removeIf(s -> s.finished);
      return true;
    } catch (RuntimeException e) {
      log.error("decode step over {} sequences failed", batch.size(), e);
      Status status = Statuses.of(e);
      batch.forEach(s -> s.fail(status));
      running.removeIf(s -> s.finished);
      return true;
    }
    // recorded before the tokens go out, so a client that saw its last token also sees it counted
    metrics.decodeStep(batch.size(), Duration.between(started, clock.instant()));
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).accept(results.get(i), tokenizer, contextLength, null);
    }
    tokensGenerated.addAndGet(batch.size());
    tokenRate.record(batch.size());
    running.removeIf(s -> s.finished);
    return true;
  }

  /**
   * A failed step changed no sequence. On KV exhaustion the sequences that needed a new block end with
   * RESOURCE_EXHAUSTED (freeing theirs), so the others can go on; nothing is left to hang.
   */
  private void onStepFailure(List<DecodeStream> batch, BackendException e) {
    if (e.code() == BackendException.Code.RESOURCE_EXHAUSTED) {
      List<DecodeStream> victims = new ArrayList<>();
      for (DecodeStream s : batch) {
        if (s.sequence.cachedTokens() >= s.sequence.blocks().size() * layout.blockTokens()) {
          victims.add(s);
        }
      }
      if (victims.isEmpty()) {
        victims.add(batch.getLast());
      }
      Status status = Status.RESOURCE_EXHAUSTED.withDescription(
          "KV blocks exhausted mid-decode: " + e.getMessage());
      victims.forEach(s -> s.fail(status));
      return;
    }
    log.warn("decode step over {} sequences failed: {}", batch.size(), e.toString());
    Status status = Statuses.of(e);
    batch.forEach(s -> s.fail(status));
  }

  private void failAll(Status status) {
    loop.lock();
    try {
      loop.markStopping();
      waiting.addAll(inbox);
      inbox.clear();
    } finally {
      loop.unlock();
    }
    for (DecodeStream s : waiting) {
      s.fail(status);
    }
    for (DecodeStream s : running) {
      s.fail(status);
    }
    waiting.clear();
    running.clear();
    queueDepth.set(0);
    runningCount = 0;
  }

  /** Stops the engine thread; requests still queued or running fail with UNAVAILABLE. Waits for the thread. */
  @Override
  public void close() {
    loop.close();
  }
}
