package io.disagg.prefill.internal;

import static io.disagg.worker.EngineLoop.micros;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.KvBlock;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvLayout;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.Sequence;
import io.disagg.proto.v1.PrefillResponse;
import io.disagg.worker.EngineLoop;
import io.disagg.worker.Protos;
import io.disagg.worker.RateMeter;
import io.disagg.worker.WorkerMetrics;
import io.grpc.Status;
import java.lang.foreign.MemorySegment;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The prefill worker's engine: one thread that owns the {@link Backend}. It takes prompts from a bounded queue and
 * prefills every prompt waiting, in arrival order, in one backend call as long as their tokens fit the batch budget
 * and the KV pool has room for them; then it hands each cache to the {@link KvPusher} and goes on with the next batch
 * while the pushes run. A sequence is closed (its blocks freed) once its push settled and the transport let go of its
 * memory; a batch that finds no room waits for that rather than failing, unless nothing is in flight to free room.
 */
public final class PrefillEngine implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PrefillEngine.class);

  private final Backend backend;
  private final KvLayout layout;
  private final KvPusher pusher;
  private final int maxBatchTokens;
  private final int maxBatchSize;
  private final int queueCapacity;
  private final Clock clock;
  private final RateMeter tokenRate;
  private final WorkerMetrics metrics;

  private final EngineLoop loop;
  private final ArrayDeque<PrefillJob> queue = new ArrayDeque<>(); // guarded by loop's lock
  private int queuedTokens; // guarded by loop's lock
  private int prefillingTokens; // guarded by loop's lock

  private volatile int queueDepth;
  private volatile int tokensInFlight;
  private final AtomicInteger transfersInFlight = new AtomicInteger();
  private final AtomicLong batches = new AtomicLong();
  private final AtomicLong prefilled = new AtomicLong();
  private final AtomicLong transfersCompleted = new AtomicLong();
  private final AtomicLong transfersFailed = new AtomicLong();
  private final AtomicLong transferBytes = new AtomicLong();

  public PrefillEngine(Backend backend, KvPusher pusher, int maxBatchTokens, int maxBatchSize, int queueCapacity,
      Clock clock, RateMeter tokenRate, WorkerMetrics metrics) {
    this.backend = backend;
    this.layout = backend.kvPool().layout();
    this.pusher = pusher;
    this.maxBatchTokens = maxBatchTokens;
    this.maxBatchSize = maxBatchSize;
    this.queueCapacity = queueCapacity;
    this.clock = clock;
    this.tokenRate = tokenRate;
    this.metrics = metrics;
    this.loop = new EngineLoop("prefill-engine", this::run);
  }

  public void start() {
    loop.start();
  }

  /** Queues a job; refuses it (RESOURCE_EXHAUSTED) when the queue is full. */
  void submit(PrefillJob job) {
    Status rejection = null;
    loop.lock();
    try {
      if (loop.isStopping()) {
        rejection = Status.UNAVAILABLE.withDescription("prefill worker is shutting down");
      } else if (queue.size() >= queueCapacity) {
        rejection = Status.RESOURCE_EXHAUSTED.withDescription(
            "prefill queue full: " + queue.size() + " requests waiting (capacity " + queueCapacity + ")");
      } else {
        queue.add(job);
        queuedTokens += job.prompt.length;
        publishQueue();
        loop.signal();
      }
    } finally {
      loop.unlock();
    }
    if (rejection != null) {
      job.fail(rejection);
    }
  }

  /** Something changed: a call was cancelled, or a push finished and freed blocks. */
  void wakeup() {
    loop.wakeup();
  }

  /** A call was cancelled: a queued job leaves the queue at once (and is answered); others are seen by the engine. */
  void cancelled(PrefillJob job) {
    boolean removed;
    loop.lock();
    try {
      removed = queue.remove(job);
      if (removed) {
        queuedTokens -= job.prompt.length;
        publishQueue();
      }
      loop.wakeupLocked();
    } finally {
      loop.unlock();
    }
    if (removed) {
      job.fail(Status.CANCELLED.withDescription("prefill call cancelled while queued"));
    }
  }

  public int queueDepth() {
    return queueDepth;
  }

  /** Prompt tokens waiting or being prefilled. */
  public int tokensInFlight() {
    return tokensInFlight;
  }

  /** Prefilled caches whose push has not settled yet. */
  public int transfersInFlight() {
    return transfersInFlight.get();
  }

  public long batches() {
    return batches.get();
  }

  public long prefilled() {
    return prefilled.get();
  }

  public long transfersCompleted() {
    return transfersCompleted.get();
  }

  public long transfersFailed() {
    return transfersFailed.get();
  }

  public long transferBytes() {
    return transferBytes.get();
  }

  public boolean isIdle() {
    return queueDepth == 0 && tokensInFlight == 0 && transfersInFlight.get() == 0;
  }

  private void publishQueue() {
    queueDepth = queue.size();
    tokensInFlight = queuedTokens + prefillingTokens;
  }

  private void run() {
    try {
      while (true) {
        List<PrefillJob> batch = takeBatch();
        if (batch == null) {
          break;
        }
        if (!batch.isEmpty()) {
          runBatch(batch);
        }
      }
    } catch (Throwable t) {
      log.error("prefill engine failed; failing every queued request", t);
    } finally {
      List<PrefillJob> left;
      loop.lock();
      try {
        loop.markStopping();
        left = new ArrayList<>(queue);
        queue.clear();
        queuedTokens = 0;
        publishQueue();
      } finally {
        loop.unlock();
      }
      left.forEach(j -> j.fail(Status.UNAVAILABLE.withDescription("prefill worker stopped")));
    }
  }

  /**
   * The next batch: jobs from the head of the queue, in order, while their tokens fit the budget (the first always
   * fits) and the pool has room. Blocks until there is one; null when stopping.
   */
  private List<PrefillJob> takeBatch() throws InterruptedException {
    List<Map.Entry<PrefillJob, Status>> failed = new ArrayList<>();
    Status cancelled = Status.CANCELLED.withDescription("prefill call cancelled while queued");
    try {
      loop.lock();
      try {
        boolean waitForRoom = false;
        while (true) {
          if (!failed.isEmpty()) {
            return List.of(); // answer those first; the caller comes straight back
          }
          while (!loop.isStopping() && (queue.isEmpty() || (waitForRoom && !loop.isSignalled()))) {
            loop.await();
          }
          loop.clearSignal();
          if (loop.isStopping()) {
            return null;
          }
          for (var it = queue.iterator(); it.hasNext(); ) {
            PrefillJob j = it.next();
            if (j.isCancelled()) {
              it.remove();
              queuedTokens -= j.prompt.length;
              failed.add(Map.entry(j, cancelled));
            }
          }
          List<PrefillJob> batch = new ArrayList<>();
          int tokens = 0;
          int planned = 0;
          int free = backend.kvPool().freeBlocks();
          for (PrefillJob j : queue) {
            int need = layout.blocksFor(j.prompt.length);
            if (!batch.isEmpty() && (tokens + j.prompt.length > maxBatchTokens || batch.size() >= maxBatchSize)) {
              break;
            }
            if (free - planned < need) {
              break;
            }
            batch.add(j);
            tokens += j.prompt.length;
            planned += need;
          }
          if (batch.isEmpty()) {
            if (queue.isEmpty()) {
              publishQueue();
              continue;
            }
            if (transfersInFlight.get() == 0) {
              PrefillJob j = queue.poll();
              queuedTokens -= j.prompt.length;
              publishQueue();
              failed.add(Map.entry(j, Status.RESOURCE_EXHAUSTED.withDescription("no KV room: prompt of "
                  + j.prompt.length + " tokens needs " + layout.blocksFor(j.prompt.length) + " blocks, " + free
                  + " free of " + backend.kvPool().totalBlocks())));
              continue;
            }
            waitForRoom = true; // pushes in flight will free blocks and signal
            continue;
          }
          for (int i = 0; i < batch.size(); i++) {
            queue.poll();
          }
          queuedTokens -= tokens;
          prefillingTokens = tokens;
          publishQueue();
          return batch;
        }
      } finally {
        loop.unlock();
      }
    } finally {
      // failing answers the call, which must not happen under the engine lock
      failed.forEach(f -> f.getKey().fail(f.getValue()));
    }
  }

  private void runBatch(List<PrefillJob> batch) {
    List<PrefillRequest> requests = new ArrayList<>(batch.size());
    for (PrefillJob j : batch) {
      requests.add(new PrefillRequest(j.requestId, j.prompt, j.sampling, 0));
    }
    LayerStreamer streamer = new LayerStreamer(batch);
    Instant started = clock.instant();
    List<PrefillResult> results;
    try {
      results = backend.prefill(requests, streamer);
    } catch (RuntimeException e) {
      if (!(e instanceof BackendException)) {
        log.error("prefill of {} prompts failed", batch.size(), e);
      }
      streamer.cancelAll("prefill failed: " + e.getMessage());
      Status status = TransferStatuses.of(e);
      batch.forEach(j -> j.fail(status));
      batchDone();
      return;
    }
    Instant ended = clock.instant();
    long prefillUs = micros(started, ended);
    batches.incrementAndGet();
    int promptTokens = 0;
    int cachedTokens = 0;
    for (int i = 0; i < batch.size(); i++) {
      promptTokens += batch.get(i).prompt.length;
      cachedTokens += results.get(i).cachedPromptTokens();
    }
    metrics.prefillBatch(batch.size(), promptTokens, cachedTokens, Duration.between(started, ended));
    int tokens = 0;
    for (int i = 0; i < batch.size(); i++) {
      PrefillJob job = batch.get(i);
      tokens += job.prompt.length;
      launchPush(job, results.get(i), streamer.finish(results.get(i).sequence()), prefillUs,
          micros(job.enqueuedAt, started));
    }
    prefilled.addAndGet(batch.size());
    tokenRate.record(tokens);
    batchDone();
  }

  private void batchDone() {
    loop.lock();
    try {
      prefillingTokens = 0;
      publishQueue();
    } finally {
      loop.unlock();
    }
  }

  /**
   * Opens a push per sequence when prefill reports its first layer, and forwards every later layer, so the cache
   * travels while the rest of the prompt is still computed. A backend that reports no layers, or a push that could
   * not be opened, falls back to a whole-cache push after prefill.
   */
  private final class LayerStreamer implements PrefillListener {
    private final Map<String, PrefillJob> jobs = new HashMap<>();
    private final Map<Sequence, KvPusher.PushHandle> handles = new IdentityHashMap<>();
    private final Map<Sequence, Integer> layersSent = new IdentityHashMap<>();
    private final int layers = backend.model().layers();

    LayerStreamer(List<PrefillJob> batch) {
      for (PrefillJob j : batch) {
        if (jobs.put(j.requestId, j) != null) {
          jobs.clear(); // request ids not unique within the batch: cannot tell sequences apart, push whole caches
          break;
        }
      }
    }

    @Override
    public void onLayerComplete(Sequence sequence, int layer) {
      PrefillJob job = jobs.get(sequence.requestId());
      if (job == null || job.isCancelled()) {
        return;
      }
      KvPusher.PushHandle handle = handles.get(sequence);
      if (handle == null) {
        if (layer != 0 || layersSent.containsKey(sequence)) {
          return;
        }
        layersSent.put(sequence, 0);
        try {
          int blocks = layout.blocksFor(job.prompt.length);
          List<MemorySegment> segments = sequence.blocks().subList(0, blocks).stream().map(KvBlock::segment).toList();
          handle = pusher.open(job.target, job.reservationId, job.requestId, backend.model().fingerprint(),
              job.prompt, segments);
        } catch (RuntimeException e) {
          log.debug("cannot stream {} layer by layer; pushing it whole after prefill", job.requestId, e);
          return;
        }
        handles.put(sequence, handle);
      }
      if (layersSent.get(sequence) == layer) {
        handle.layerComplete(layer);
        layersSent.put(sequence, layer + 1);
      }
    }

    /** The sequence's push with every layer sent and the trailer requested, or null when it must be pushed whole. */
    KvPusher.PushHandle finish(Sequence sequence) {
      KvPusher.PushHandle handle = handles.remove(sequence);
      if (handle == null) {
        return null;
      }
      if (layersSent.get(sequence) != layers) {
        handle.cancel("prefill reported " + layersSent.get(sequence) + " of " + layers + " layers");
        return null;
      }
      handle.finish();
      return handle;
    }

    void cancelAll(String reason) {
      handles.values().forEach(h -> h.cancel(reason));
      handles.clear();
    }
  }

  private void launchPush(PrefillJob job, PrefillResult result, KvPusher.PushHandle streamed, long prefillUs,
      long queuedUs) {
    Sequence seq = result.sequence();
    if (job.isCancelled()) {
      if (streamed != null) {
        streamed.cancel("prefill call cancelled");
        streamed.released().whenComplete((v, e) -> seq.close());
      } else {
        seq.close();
      }
      job.fail(Status.CANCELLED.withDescription("prefill call cancelled"));
      return;
    }
    KvPusher.PushHandle handle = streamed;
    if (handle == null) {
      try {
        KvExport export = backend.exportKv(seq);
        handle = pusher.push(job.target, job.reservationId, export);
      } catch (RuntimeException e) {
        seq.close();
        job.fail(TransferStatuses.of(e));
        return;
      }
    }
    KvPusher.PushHandle push = handle;
    transfersInFlight.incrementAndGet();
    job.onCancel(() -> push.cancel("prefill call cancelled"));
    push.result().whenComplete((pushed, error) -> push.released().whenComplete((v, e) -> {
      // the transport no longer reads the blocks: now they can go back to the pool
      seq.close();
      transfersInFlight.decrementAndGet();
      if (error != null) {
        transfersFailed.incrementAndGet();
        job.fail(TransferStatuses.of(error));
      } else {
        transfersCompleted.incrementAndGet();
        transferBytes.addAndGet(pushed.bytes());
        job.succeed(PrefillResponse.newBuilder()
            .setRequestId(job.requestId)
            .setFirstToken(Protos.generatedToken(result.firstToken()))
            .setPrefillUs(prefillUs)
            .setQueuedUs(queuedUs)
            .setKvTransferUs(pushed.elapsed().toNanos() / 1000)
            .setKvTransferBytes(pushed.bytes())
            .setCachedPromptTokens(result.cachedPromptTokens())
            .build());
      }
      wakeup();
    }));
  }

  /** Stops the engine thread; prompts still queued fail with UNAVAILABLE. Waits for the thread. */
  @Override
  public void close() {
    loop.close();
  }
}
