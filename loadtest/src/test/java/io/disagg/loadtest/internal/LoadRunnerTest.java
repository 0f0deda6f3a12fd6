package io.disagg.loadtest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class LoadRunnerTest {

    private final ScheduledExecutorService runnerThread = Executors.newSingleThreadScheduledExecutor();
    private final ScheduledExecutorService serverThread = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void stop() {
        runnerThread.shutdownNow();
        serverThread.shutdownNow();
    }

    /** Answers every request with {@code tokens} chunks 1 ms apart; records peak concurrency. */
    private final class FakeTarget implements Target {
        final AtomicInteger inFlight = new AtomicInteger();
        final AtomicInteger peak = new AtomicInteger();
        final AtomicInteger sent = new AtomicInteger();
        volatile boolean fail;

        @Override
        public Runnable send(Prompt prompt, int maxTokens, Observer observer) {
            sent.incrementAndGet();
            peak.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
            if (fail) {
                inFlight.decrementAndGet();
                observer.onError("UNAVAILABLE");
                return () -> { };
            }
            for (int i = 0; i < maxTokens; i++) {
                serverThread.schedule(() -> observer.onTokens(1), i + 1, TimeUnit.MILLISECONDS);
            }
            serverThread.schedule(() -> {
                inFlight.decrementAndGet();
                observer.onDone(prompt.text() != null ? prompt.text().split(" ").length + 1 : prompt.tokenIds().length,
                        maxTokens, 0);
            }, maxTokens + 1, TimeUnit.MILLISECONDS);
            return () -> { };
        }

        @Override
        public int vocabSize() {
            return 1000;
        }

        @Override
        public void close() {
        }
    }

    private static Workload fixed(int in, int out) {
        return new Workload.Profile("fixed", new Workload.Range(in, in), new Workload.Range(out, out));
    }

    @Test
    void closedLoop_neverExceedsUsersAndStopsAtMaxRequests() throws Exception {
        var target = new FakeTarget();
        var runner = new LoadRunner(target, runnerThread, System::nanoTime, LoadRunner.PromptFormat.TEXT);

        List<RequestRecord> records = runner.run(LoadRunner.Level.closed(3), fixed(5, 4),
                new LoadRunner.Bounds(Duration.ZERO, Duration.ofSeconds(30), 20, Duration.ofSeconds(10)),
                new SplittableRandom(1), LoadRunner.Progress.NONE);

        assertThat(records).hasSize(20).allSatisfy(r -> {
            assertThat(r.succeeded()).isTrue();
            assertThat(r.outputTokens()).isEqualTo(4);
            assertThat(r.promptTokens()).isEqualTo(5);
            assertThat(r.itlNanos()).hasSize(3);
            assertThat(r.firstTokenNanos()).isGreaterThan(r.sendNanos());
            assertThat(r.endNanos()).isGreaterThanOrEqualTo(r.firstTokenNanos());
        });
        assertThat(target.peak.get()).isEqualTo(3);
    }

    @Test
    void openLoop_warmupRequestsAreFlaggedAndDurationBoundsTheRun() throws Exception {
        var target = new FakeTarget();
        var runner = new LoadRunner(target, runnerThread, System::nanoTime, LoadRunner.PromptFormat.TOKEN_IDS);

        long start = System.nanoTime();
        List<RequestRecord> records = runner.run(LoadRunner.Level.open(ArrivalProcess.poisson(200)), fixed(8, 2),
                new LoadRunner.Bounds(Duration.ofMillis(100), Duration.ofMillis(300), 10_000, Duration.ofSeconds(5)),
                new SplittableRandom(2), LoadRunner.Progress.NONE);
        double seconds = (System.nanoTime() - start) / 1e9;

        assertThat(seconds).isLessThan(5);
        assertThat(records).anyMatch(RequestRecord::warmup).anyMatch(r -> !r.warmup());
        // warm-up records come first: issue order is time order
        int firstMeasured = records.stream().filter(r -> !r.warmup()).findFirst().orElseThrow().index();
        assertThat(records.subList(0, firstMeasured)).allMatch(RequestRecord::warmup);
        assertThat(records.subList(firstMeasured, records.size())).noneMatch(RequestRecord::warmup);
        // 400 ms at 200/s: about 80 arrivals; generous bounds keep this robust on a loaded machine
        assertThat(records.size()).isBetween(20, 200);
    }

    @Test
    void failures_areRecordedWithTheirType() throws Exception {
        var target = new FakeTarget();
        target.fail = true;
        var runner = new LoadRunner(target, runnerThread, System::nanoTime, LoadRunner.PromptFormat.TEXT);

        List<RequestRecord> records = runner.run(LoadRunner.Level.closed(2), fixed(3, 3),
                new LoadRunner.Bounds(Duration.ZERO, Duration.ofSeconds(30), 6, Duration.ofSeconds(1)),
                new SplittableRandom(1), LoadRunner.Progress.NONE);

        assertThat(records).hasSize(6).allSatisfy(r -> assertThat(r.error()).isEqualTo("UNAVAILABLE"));
    }

    @Test
    void stuckRequests_areCancelledAfterDrainTimeoutAsNotFinished() throws Exception {
        var cancelled = new AtomicInteger();
        Target silent = new Target() {
            @Override
            public Runnable send(Prompt prompt, int maxTokens, Observer observer) {
                return cancelled::incrementAndGet;
            }

            @Override
            public int vocabSize() {
                return 1000;
            }

            @Override
            public void close() {
            }
        };
        var runner = new LoadRunner(silent, runnerThread, System::nanoTime, LoadRunner.PromptFormat.TEXT);

        List<RequestRecord> records = runner.run(LoadRunner.Level.closed(2), fixed(3, 3),
                new LoadRunner.Bounds(Duration.ZERO, Duration.ofMillis(50), 100, Duration.ofMillis(50)),
                new SplittableRandom(1), LoadRunner.Progress.NONE);

        assertThat(records).hasSize(2).allSatisfy(r -> assertThat(r.error()).isEqualTo("not_finished"));
        assertThat(cancelled.get()).isEqualTo(2);
    }

    @Test
    void progressLine_showsBarAndCounts() {
        assertThat(TerminalProgress.line("rate 2/s", 10, 7, 1, 5_000_000_000L, 10_000_000_000L))
                .isEqualTo("rate 2/s [###############...............]   5.0s/10.0s sent 10 done 7 failed 1");
    }
}
