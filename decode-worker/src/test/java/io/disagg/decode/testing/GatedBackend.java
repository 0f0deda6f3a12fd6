package io.disagg.decode.testing;

import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.KvBlockPool;
import io.disagg.backend.spi.KvExport;
import io.disagg.backend.spi.KvImport;
import io.disagg.backend.spi.KvReservation;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefillListener;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Wraps a backend so a test can hold decode steps: once closed, the gate lets no decode step start until it is
 * opened again, which puts a stream deterministically "in the middle" however fast the model is.
 */
public final class GatedBackend implements Backend {
  private final Backend delegate;
  private final Semaphore permits = new Semaphore(Integer.MAX_VALUE / 2);
  private volatile CountDownLatch blocked = new CountDownLatch(1);
  private final Semaphore prefillPermits = new Semaphore(Integer.MAX_VALUE / 2);
  private volatile CountDownLatch prefillBlocked = new CountDownLatch(1);
  private final java.util.List<Integer> prefillBatchSizes = new java.util.concurrent.CopyOnWriteArrayList<>();

  public GatedBackend(Backend delegate) {
    this.delegate = delegate;
  }

  /** Lets only {@code steps} more decode steps start. */
  public void allowSteps(int steps) {
    permits.drainPermits();
    permits.release(steps);
    blocked = new CountDownLatch(1);
  }

  /** Lets decode steps run freely again. */
  public void open() {
    permits.release(Integer.MAX_VALUE / 2);
  }

  /** Waits until a decode step is held at the gate. */
  public boolean awaitBlocked(long timeout, TimeUnit unit) throws InterruptedException {
    return blocked.await(timeout, unit);
  }

  /** Lets only {@code calls} more prefill calls start. */
  public void allowPrefills(int calls) {
    prefillPermits.drainPermits();
    prefillPermits.release(calls);
    prefillBlocked = new CountDownLatch(1);
  }

  /** Lets prefill calls run freely again. */
  public void openPrefills() {
    prefillPermits.release(Integer.MAX_VALUE / 2);
  }

  /** Waits until a prefill call is held at the gate. */
  public boolean awaitPrefillBlocked(long timeout, TimeUnit unit) throws InterruptedException {
    return prefillBlocked.await(timeout, unit);
  }

  /** The number of prompts in each prefill call so far. */
  public List<Integer> prefillBatchSizes() {
    return List.copyOf(prefillBatchSizes);
  }

  @Override
  public List<SampledToken> decode(List<DecodeSlot> batch) {
    if (!permits.tryAcquire()) {
      blocked.countDown();
      permits.acquireUninterruptibly();
    }
    return delegate.decode(batch);
  }

  @Override
  public ModelInfo model() {
    return delegate.model();
  }

  @Override
  public Tokenizer tokenizer() {
    return delegate.tokenizer();
  }

  @Override
  public KvBlockPool kvPool() {
    return delegate.kvPool();
  }

  @Override
  public List<PrefillResult> prefill(List<PrefillRequest> requests, PrefillListener listener) {
    if (!prefillPermits.tryAcquire()) {
      prefillBlocked.countDown();
      prefillPermits.acquireUninterruptibly();
    }
    prefillBatchSizes.add(requests.size());
    return delegate.prefill(requests, listener);
  }

  @Override
  public KvExport exportKv(Sequence sequence) {
    return delegate.exportKv(sequence);
  }

  @Override
  public Sequence importKv(KvReservation reservation, KvImport header) {
    return delegate.importKv(reservation, header);
  }

  @Override
  public void drain() {
    delegate.drain();
  }

  @Override
  public boolean isDraining() {
    return delegate.isDraining();
  }

  @Override
  public void close() {
    open();
    openPrefills();
    delegate.close();
  }
}
