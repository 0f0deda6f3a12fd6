package io.disagg.router.internal;

import io.disagg.proto.v1.GenerateChunk;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every stage of one generation shares and whatever ends it must undo: the terminated flag, the worker RPC in
 * flight, the KV reservation held. Exactly one terminal event reaches the client: the final chunk then
 * {@code onCompleted} ({@link #emit} with {@code last}), or {@code onError} ({@link #fail}). Ending cancels the RPC in
 * flight and releases a reservation a finished decode did not consume. Thread-safe: {@link #lock} guards the fields
 * that {@code cancel()} may touch while a stage callback runs.
 */
final class CallState {
  private static final Logger log = LoggerFactory.getLogger(CallState.class);

  /** Metrics and accounting run once, under the lock, as the call ends (before the client hears of it). */
  interface Ending {
    void finished(GenerateChunk last);

    void failed(Status status);
  }

  private final String requestId;
  private final Downstream down;
  private final ReleaseStage release;
  private final Runnable onEnd;
  private final Object lock = new Object();
  private Ending ending;
  private boolean terminated; // guarded by lock
  private ClientCallStreamObserver<?> active; // guarded by lock
  private Reservation reservation; // guarded by lock

  CallState(String requestId, Downstream down, ReleaseStage release, Runnable onEnd) {
    this.requestId = requestId;
    this.down = down;
    this.release = release;
    this.onEnd = onEnd;
  }

  void ending(Ending ending) {
    this.ending = ending;
  }

  String requestId() {
    return requestId;
  }

  Downstream downstream() {
    return down;
  }

  boolean isTerminated() {
    synchronized (lock) {
      return terminated;
    }
  }

  /** Records a granted reservation; false (and the blocks released at once) when the call already ended. */
  boolean hold(Reservation granted) {
    synchronized (lock) {
      if (!terminated) {
        reservation = granted;
        return true;
      }
    }
    release.release(granted);
    return false;
  }

  /** The reservation id the next RPC should name, or empty when none is held. */
  String reservationId() {
    synchronized (lock) {
      return reservation == null ? "" : reservation.id();
    }
  }

  /** Gives up the reservation (falling back to colocated): ReleaseKv goes out now. */
  void releaseReservation() {
    Reservation held;
    synchronized (lock) {
      held = reservation;
      reservation = null;
    }
    if (held != null) {
      release.release(held);
    }
  }

  /** Registers the worker RPC in flight, so that ending the call cancels it; cancels it at once if already ended. */
  void attach(ClientCallStreamObserver<?> call) {
    boolean ended;
    synchronized (lock) {
      ended = terminated;
      if (!ended) {
        active = call;
      }
    }
    if (ended) {
      call.cancel("request " + requestId + " already ended", null);
    }
  }

  /** Delivers a chunk; {@code last} ends the call (a finished decode consumed its reservation). */
  void emit(GenerateChunk chunk, boolean last) {
    RuntimeException broken = null;
    synchronized (lock) {
      if (terminated) {
        return;
      }
      if (last) {
        terminated = true;
        active = null;
        reservation = null; // consumed by a finished decode: the worker freed it with the sequence
        ending.finished(chunk);
      }
      try {
        down.observer().onNext(chunk);
        if (last) {
          down.observer().onCompleted();
        }
      } catch (RuntimeException e) {
        broken = e;
      }
    }
    if (last) {
      onEnd.run();
    }
    if (broken != null) {
      // The client side cannot take more (a cancelled server call, a failing in-process observer): stop the workers.
      log.debug("request {}: client observer failed: {}", requestId, broken.toString());
      fail(Status.CANCELLED.withDescription("the client stopped accepting chunks").withCause(broken));
    }
  }

  /** Ends the call with {@code status} unless it already ended; cancels the RPC in flight and frees the reservation. */
  void fail(Status status) {
    ClientCallStreamObserver<?> call;
    synchronized (lock) {
      if (terminated) {
        return;
      }
      terminated = true;
      call = active;
      active = null;
      Reservation held = reservation;
      reservation = null;
      ending.failed(status);
      // Free the decode worker's blocks before the client hears of the failure: a client that retries at once (or
      // falls back to colocated) must not find them still reserved for the request that just failed.
      if (held != null) {
        release.release(held);
      }
      try {
        down.observer().onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        log.debug("request {}: client already gone: {}", requestId, e.toString());
      }
    }
    onEnd.run();
    if (status.getCode() != Status.Code.CANCELLED) {
      log.debug("request {} failed: {}", requestId, status);
    }
    if (call != null) {
      call.cancel("request " + requestId + " ended: " + status.getCode(), null);
    }
  }
}
