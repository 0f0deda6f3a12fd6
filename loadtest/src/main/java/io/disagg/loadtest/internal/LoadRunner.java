package io.disagg.loadtest.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;

/**
 * Drives one load level against a {@link Target} and records every request.
 *
 * <p>Open loop: arrivals follow the {@link ArrivalProcess} (or the trace's timestamps) whatever the server does, so
 * queueing shows up in latency instead of throttling the load. Closed loop: each of N users sends its next request
 * when the previous one ends. Requests sent during warm-up are recorded but flagged. Issuing stops after warm-up
 * plus duration or after {@code maxRequests} measured requests; requests still running {@code drainTimeout} later
 * are cancelled and recorded as {@code not_finished}.
 *
 * <p>All drawing from the seeded generator and the workload happens on the scheduler thread, so a seed fixes the
 * sequence of requests.
 */
public final class LoadRunner {

    /** Open loop at a rate ({@code users == 0}) or closed loop with users ({@code arrivals == null}). */
    public record Level(ArrivalProcess arrivals, double traceTimeScale, int users) {
        public static Level open(ArrivalProcess arrivals) {
            return new Level(Objects.requireNonNull(arrivals), 1, 0);
        }

        /** Replays trace timestamps, multiplied by {@code timeScale}. */
        public static Level trace(double timeScale) {
            if (!(timeScale > 0)) {
                throw new IllegalArgumentException("timeScale: %s (expected: > 0)".formatted(timeScale));
            }
            return new Level(null, timeScale, 0);
        }

        public static Level closed(int users) {
            if (users < 1) {
                throw new IllegalArgumentException("users: %d (expected: > 0)".formatted(users));
            }
            return new Level(null, 1, users);
        }

        boolean isClosed() {
            return users > 0;
        }
    }

    /** Bounds of one run. */
    public record Bounds(Duration warmup, Duration duration, int maxRequests, Duration drainTimeout) {
        public Bounds {
            if (warmup.isNegative()) {
                throw new IllegalArgumentException("warmup: %s (expected: >= 0)".formatted(warmup));
            }
            if (!duration.isPositive()) {
                throw new IllegalArgumentException("duration: %s (expected: > 0)".formatted(duration));
            }
            if (maxRequests < 1) {
                throw new IllegalArgumentException("maxRequests: %d (expected: > 0)".formatted(maxRequests));
            }
            if (drainTimeout.isNegative()) {
                throw new IllegalArgumentException("drainTimeout: %s (expected: >= 0)".formatted(drainTimeout));
            }
        }
    }

    /** Live counters for a progress display. */
    public interface Progress {
        void update(int sent, int finished, int failed, long elapsedNanos, long plannedNanos);

        void done();

        Progress NONE = new Progress() {
            @Override
            public void update(int sent, int finished, int failed, long elapsedNanos, long plannedNanos) {
            }

            @Override
            public void done() {
            }
        };
    }

    public enum PromptFormat { TEXT, TOKEN_IDS }

    private final Target target;
    private final ScheduledExecutorService scheduler;
    private final LongSupplier ticker;
    private final PromptFormat promptFormat;
    private final SharedPrefix sharedPrefix;

    public LoadRunner(Target target, ScheduledExecutorService scheduler, LongSupplier ticker, PromptFormat format) {
        this(target, scheduler, ticker, format, SharedPrefix.NONE);
    }

    /** @param sharedPrefix what every prompt starts with; workload lengths count the part after it */
    public LoadRunner(Target target, ScheduledExecutorService scheduler, LongSupplier ticker, PromptFormat format,
                      SharedPrefix sharedPrefix) {
        this.target = target;
        this.scheduler = scheduler;
        this.ticker = ticker;
        this.promptFormat = format;
        this.sharedPrefix = sharedPrefix;
    }

    /** Runs one level to completion and returns every request, warm-up included, in issue order. */
    public List<RequestRecord> run(Level level, Workload workload, Bounds bounds, RandomGenerator random,
                                   Progress progress) throws InterruptedException {
        var run = new Run(level, workload, bounds, random, progress);
        return run.execute();
    }

    private final class Run {
        private final Level level;
        private final Workload workload;
        private final Bounds bounds;
        private final RandomGenerator random;
        private final Progress progress;
        private final List<Tracker> trackers = new ArrayList<>();
        private final AtomicInteger inFlight = new AtomicInteger();
        private final AtomicInteger finished = new AtomicInteger();
        private final AtomicInteger failed = new AtomicInteger();
        private final CompletableFuture<Void> drained = new CompletableFuture<>();
        private final long warmupNanos;
        private final long endNanos;
        private long startNanos;
        private int measured;
        private boolean stopped;
        private PromptGenerator prompts;

        Run(Level level, Workload workload, Bounds bounds, RandomGenerator random, Progress progress) {
            this.level = level;
            this.workload = workload;
            this.bounds = bounds;
            this.random = random;
            this.progress = progress;
            this.warmupNanos = bounds.warmup().toNanos();
            this.endNanos = warmupNanos + bounds.duration().toNanos();
        }

        List<RequestRecord> execute() throws InterruptedException {
            int vocab = promptFormat == PromptFormat.TOKEN_IDS ? target.vocabSize() : 0;
            prompts = new PromptGenerator(promptFormat, vocab, sharedPrefix);
            startNanos = ticker.getAsLong();
            var ticker = scheduler.scheduleAtFixedRate(() -> progress.update(trackersSize(), finished.get(),
                    failed.get(), LoadRunner.this.ticker.getAsLong() - startNanos, endNanos), 0, 250,
                    TimeUnit.MILLISECONDS);
            // ends issuing on time even when the next arrival or completion is far away
            scheduler.schedule(this::stop, endNanos, TimeUnit.NANOSECONDS);
            if (level.isClosed()) {
                scheduler.execute(() -> {
                    for (int u = 0; u < level.users() && !stopped; u++) {
                        issue();
                    }
                    maybeDrained();
                });
            } else {
                scheduler.execute(this::arrive);
            }
            // Nothing is issued after warm-up + duration, so the wait is bounded by that plus the drain timeout.
            Duration limit = bounds.warmup().plus(bounds.duration()).plus(bounds.drainTimeout());
            try {
                drained.get(limit.toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                // fall through: cancel what is still running
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
            List<Tracker> all;
            try {
                all = scheduler.submit(() -> {
                    stopped = true;
                    return List.copyOf(trackers);
                }).get();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
            for (Tracker t : all) {
                t.abandon();
            }
            ticker.cancel(false);
            progress.update(all.size(), finished.get(), failed.get(), LoadRunner.this.ticker.getAsLong() - startNanos,
                    endNanos);
            progress.done();
            return all.stream().map(Tracker::record).toList();
        }

        private int trackersSize() {
            return finished.get() + failed.get() + inFlight.get();
        }

        /** Open loop: issue one arrival and schedule the next. Runs on the scheduler thread. */
        private void arrive() {
            WorkItem item = issue();
            if (item == null) {
                maybeDrained();
                return;
            }
            long now = ticker.getAsLong() - startNanos;
            long delay;
            if (workload.isTrace() && level.arrivals() == null) {
                var trace = (Workload.Trace) workload;
                int next = trackers.size();
                if (next >= trace.items().size()) {
                    stop();
                    return;
                }
                long at = (long) (trace.items().get(next).traceOffsetSeconds() * level.traceTimeScale() * 1e9);
                delay = Math.max(0, at - now);
            } else {
                delay = (long) (level.arrivals().nextGapSeconds(random) * 1e9);
            }
            scheduler.schedule(this::arrive, delay, TimeUnit.NANOSECONDS);
        }

        /** Sends the next request unless the run is over; returns it, or {@code null} when issuing has stopped. */
        private WorkItem issue() {
            if (stopped) {
                return null;
            }
            long sinceStart = ticker.getAsLong() - startNanos;
            if (sinceStart >= endNanos || measured >= bounds.maxRequests()) {
                stop();
                return null;
            }
            WorkItem item = workload.next(random);
            if (item == null) {
                stop();
                return null;
            }
            boolean warmup = sinceStart < warmupNanos;
            if (!warmup) {
                measured++;
            }
            Target.Prompt prompt = prompts.next(item.inputTokens(), random);
            var tracker = new Tracker(trackers.size(), warmup);
            trackers.add(tracker);
            inFlight.incrementAndGet();
            tracker.sendNanos = ticker.getAsLong();
            try {
                tracker.cancel = target.send(prompt, item.outputTokens(), tracker);
            } catch (RuntimeException e) {
                tracker.onError(e.getClass().getSimpleName());
            }
            return item;
        }

        private void stop() {
            stopped = true;
            maybeDrained();
        }

        private void maybeDrained() {
            if (stopped && inFlight.get() == 0) {
                drained.complete(null);
            }
        }

        /** Called on any thread when a request ends. */
        private void ended(boolean ok) {
            (ok ? finished : failed).incrementAndGet();
            inFlight.decrementAndGet();
            Runnable next = level.isClosed() ? () -> {
                issue();
                maybeDrained();
            } : this::maybeDrained;
            try {
                scheduler.execute(next);
            } catch (java.util.concurrent.RejectedExecutionException e) {
                // a response that arrived after the load test shut down: it was already recorded as not_finished
            }
        }

        /** One request's observations; the terminal transition happens once, whoever gets there first. */
        private final class Tracker implements Target.Observer {
            private final int index;
            private final boolean warmup;
            private final java.util.concurrent.atomic.AtomicBoolean terminal =
                    new java.util.concurrent.atomic.AtomicBoolean();
            private final List<Long> gaps = new ArrayList<>();
            volatile long sendNanos;
            volatile Runnable cancel;
            private long firstTokenNanos = -1;
            private long lastTokenNanos;
            private volatile long endNanos;
            private int promptTokens;
            private int cachedPromptTokens;
            private int outputTokens;
            private volatile String error;

            Tracker(int index, boolean warmup) {
                this.index = index;
                this.warmup = warmup;
            }

            @Override
            public synchronized void onTokens(int count) {
                if (terminal.get()) {
                    return;
                }
                long now = ticker.getAsLong();
                if (firstTokenNanos < 0) {
                    firstTokenNanos = now;
                } else {
                    gaps.add(now - lastTokenNanos);
                }
                lastTokenNanos = now;
            }

            @Override
            public void onDone(int prompt, int output, int cached) {
                synchronized (this) {
                    if (!terminal.compareAndSet(false, true)) {
                        return;
                    }
                    endNanos = ticker.getAsLong();
                    promptTokens = prompt;
                    cachedPromptTokens = cached;
                    outputTokens = output;
                    if (firstTokenNanos < 0) {
                        error = "no_tokens";
                    }
                }
                ended(error == null);
            }

            @Override
            public void onError(String type) {
                synchronized (this) {
                    if (!terminal.compareAndSet(false, true)) {
                        return;
                    }
                    endNanos = ticker.getAsLong();
                    error = type;
                }
                ended(false);
            }

            void abandon() {
                synchronized (this) {
                    if (!terminal.compareAndSet(false, true)) {
                        return;
                    }
                    endNanos = ticker.getAsLong();
                    error = "not_finished";
                }
                var c = cancel;
                if (c != null) {
                    c.run();
                }
                (failed).incrementAndGet();
                inFlight.decrementAndGet();
            }

            synchronized RequestRecord record() {
                return new RequestRecord(index, warmup, sendNanos, firstTokenNanos, endNanos, promptTokens,
                        cachedPromptTokens, outputTokens, gaps.stream().mapToLong(Long::longValue).toArray(), error);
            }
        }
    }
}
