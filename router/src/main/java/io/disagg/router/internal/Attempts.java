package io.disagg.router.internal;

import io.disagg.router.WorkerRole;
import io.disagg.router.WorkerSnapshot;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import io.grpc.Deadline;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one attempt mechanism every stage uses: candidates in the selector's order (at most {@code maxAttempts}), a
 * circuit-breaker permit per try (a worker whose breaker is open is skipped), an exponential backoff with jitter
 * between tries where the stage wants one (Resilience4j {@link Retry}), and the request's deadline. It also keeps what
 * went wrong with each worker, for the error a client finally gets.
 *
 * <p>Not thread-safe by itself: a generation's stages run one after another (each started from the previous one's
 * callback), so only one thread touches it at a time.
 */
final class Attempts {
  private static final Logger log = LoggerFactory.getLogger(Attempts.class);

  /** One try on one worker. Call {@code next} when the worker refused or was unreachable and another may try. */
  interface Attempt {
    void start(WorkerSnapshot candidate, WorkerHandle worker, Permit permit, Next next);
  }

  /** Moves on to the next candidate after {@code failure} (recorded against the worker). */
  interface Next {
    void after(WorkerHandle worker, Status failure);
  }

  private final RouterContext ctx;
  private final CallState call;
  private final Deadline deadline;
  private final List<String> failures = new ArrayList<>();
  private boolean sawNoRoom;

  Attempts(RouterContext ctx, CallState call, Deadline deadline) {
    this.ctx = ctx;
    this.call = call;
    this.deadline = deadline;
  }

  /**
   * Tries {@code candidates} in order until an attempt does not call {@code next}; runs {@code exhausted} when none is
   * left (or the retry budget is spent).
   *
   * @param backoff wait between tries (ReserveKv, Prefill); false moves on at once (a colocated Decode)
   */
  void run(WorkerRole role, List<WorkerSnapshot> candidates, boolean backoff, Attempt attempt, Runnable exhausted) {
    new Loop(role, candidates, backoff ? ctx.resilience().retry().asyncContext() : null, attempt, exhausted).at(0);
  }

  /** A permit on {@code worker}'s breaker, or null (recorded as a failure) when it is open. */
  Permit acquire(WorkerHandle worker) {
    if (worker.breaker().tryAcquirePermission()) {
      return new Permit(worker.breaker());
    }
    failures.add(worker.id() + ": circuit breaker " + worker.breaker().getState());
    return null;
  }

  /** Records a refusal (RESOURCE_EXHAUSTED) or an unreachable worker (UNAVAILABLE, taken out of rotation). */
  void recordRefusal(WorkerHandle worker, Status status) {
    ctx.metrics().refused(worker.role(), status.getCode().name());
    if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
      sawNoRoom = true;
    } else if (status.getCode() == Status.Code.UNAVAILABLE) {
      worker.markUnreachable("request failed: " + WorkerStatus.brief(status));
    }
    failures.add(worker.id() + ": " + WorkerStatus.brief(status));
  }

  void recordFailure(WorkerHandle worker, Status status) {
    failures.add(worker.id() + ": " + WorkerStatus.brief(status));
  }

  boolean sawNoRoom() {
    return sawNoRoom;
  }

  String failures() {
    return String.join("; ", failures);
  }

  /** Forgets what went wrong so far: a new phase (the colocated fallback) reports only its own failures. */
  void reset() {
    failures.clear();
    sawNoRoom = false;
  }

  private final class Loop {
    private final WorkerRole role;
    private final List<WorkerSnapshot> candidates;
    private final Retry.AsyncContext<Object> retry;
    private final Attempt attempt;
    private final Runnable exhausted;

    Loop(WorkerRole role, List<WorkerSnapshot> candidates, Retry.AsyncContext<Object> retry, Attempt attempt,
        Runnable exhausted) {
      this.role = role;
      this.candidates = candidates;
      this.retry = retry;
      this.attempt = attempt;
      this.exhausted = exhausted;
    }

    void at(int index) {
      if (index >= Math.min(ctx.maxAttempts(), candidates.size())) {
        exhausted.run();
        return;
      }
      WorkerSnapshot candidate = candidates.get(index);
      WorkerHandle worker = ctx.registry().get(role, candidate.id());
      Permit permit = acquire(worker);
      if (permit == null) {
        at(index + 1);
        return;
      }
      attempt.start(candidate, worker, permit, (w, failure) -> {
        recordRefusal(w, failure);
        next(index + 1, failure);
      });
    }

    private void next(int index, Status failure) {
      if (retry == null) {
        at(index);
        return;
      }
      long delayMillis = retry.onError(failure.asRuntimeException());
      if (delayMillis < 0 || index >= candidates.size()) {
        exhausted.run();
        return;
      }
      if (deadline.timeRemaining(TimeUnit.MILLISECONDS) <= delayMillis) {
        call.fail(Status.DEADLINE_EXCEEDED.withDescription("request " + call.requestId()
            + ": no time left to retry after " + failures()));
        return;
      }
      if (delayMillis == 0) {
        at(index);
        return;
      }
      ctx.scheduler().schedule(() -> {
        if (call.isTerminated()) {
          return;
        }
        try {
          at(index);
        } catch (RuntimeException e) {
          log.error("request {} failed in the router", call.requestId(), e);
          call.fail(Status.INTERNAL.withDescription("router error: " + e).withCause(e));
        }
      }, delayMillis, TimeUnit.MILLISECONDS);
    }
  }

  /** One RPC's claim on a worker's circuit breaker; reports the RPC's outcome to it exactly once. */
  final class Permit {
    private final CircuitBreaker breaker;
    private final long startNanos = ctx.ticker().nanoTime();
    private boolean reported;

    private Permit(CircuitBreaker breaker) {
      this.breaker = breaker;
    }

    synchronized void outcome(Status status) {
      if (reported) {
        return;
      }
      reported = true;
      long nanos = Math.max(0L, ctx.ticker().nanoTime() - startNanos);
      if (status.isOk()) {
        breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
      } else if (status.getCode() == Status.Code.CANCELLED && call.isTerminated()) {
        // The router (or its client) cancelled the call: says nothing about the worker.
        breaker.releasePermission();
      } else {
        // The breaker's own predicate decides whether this code counts as a failure (see Resilience).
        breaker.onError(nanos, TimeUnit.NANOSECONDS, status.asRuntimeException());
      }
    }
  }
}
