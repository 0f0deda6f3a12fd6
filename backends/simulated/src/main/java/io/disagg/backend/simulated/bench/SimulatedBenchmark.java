package io.disagg.backend.simulated.bench;

import io.disagg.backend.simulated.HardwareProfile;
import io.disagg.backend.simulated.ModelShape;
import io.disagg.backend.simulated.Roofline;
import io.disagg.backend.simulated.SimulatedOptions;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.Backends;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SampledToken;
import io.disagg.backend.spi.SamplingParams;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;

/**
 * Whether the simulated backend holds its roofline step times when many simulated workers share this machine: runs
 * 1 and then N backends in one JVM, each on its own platform thread stepping continuously (prefill a batch of
 * prompts, decode them for a number of steps, close, repeat), measures every call's wall time and compares it with
 * the {@link Roofline} prediction for that call, computed independently from the same profile and shape. Prints the
 * relative error {@code (measured − predicted) ÷ predicted}: its p50 and the p99 of its absolute value, per kind of
 * call; the goal is within 10%. The baseline is the prediction itself, so machine load shows up as error.
 */
public final class SimulatedBenchmark {
  private static final long WARM_UP_NANOS = 2_000_000_000L;

  private SimulatedBenchmark() {}

  /** One benchmark case: a model on a profile. */
  record Case(String profile, String shape) {}

  /** Error statistics of one kind of call. */
  record Stats(String kind, int samples, double predictedMillis, double p50Error, double p90AbsError,
      double p99AbsError) {}

  static final String USAGE = "usage: bench simulated [--cases PROFILE:SHAPE,...] [--workers 1,50] [--batch N]"
      + " [--prompt-tokens N] [--decode-steps N] [--seconds S]\n  defaults: --cases h100:llama3-8b,trn2:llama3-8b,"
      + "cpu:100m --workers 1,50 --batch 8 --prompt-tokens 512 --decode-steps 64 --seconds 8";

  public static void main(String[] args) {
    List<Case> cases = List.of(new Case("h100", "llama3-8b"), new Case("trn2", "llama3-8b"), new Case("cpu", "100m"));
    int[] workers = {1, 50};
    int batch = 8;
    int promptTokens = 512;
    int decodeSteps = 64;
    double seconds = 8;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h") || i + 1 >= args.length) {
        System.err.println(flag.startsWith("--h") || flag.equals("-h") ? USAGE : flag + ": missing value\n" + USAGE);
        return;
      }
      String v = args[++i];
      switch (flag) {
        case "--cases" -> cases = Arrays.stream(v.split(",")).map(c -> {
          int colon = c.indexOf(':');
          if (colon < 0) {
            throw new IllegalArgumentException("--cases: " + c + " (expected: PROFILE:SHAPE, e.g. h100:llama3-8b)");
          }
          return new Case(c.substring(0, colon).strip(), c.substring(colon + 1).strip());
        }).toList();
        case "--workers" -> workers = Arrays.stream(v.split(",")).mapToInt(s -> Integer.parseInt(s.strip())).toArray();
        case "--batch" -> batch = Integer.parseInt(v);
        case "--prompt-tokens" -> promptTokens = Integer.parseInt(v);
        case "--decode-steps" -> decodeSteps = Integer.parseInt(v);
        case "--seconds" -> seconds = Double.parseDouble(v);
        default -> throw new IllegalArgumentException("unknown option " + flag + "\n" + USAGE);
      }
    }
    run(cases, workers, batch, promptTokens, decodeSteps, seconds, System.out);
  }

  static void run(List<Case> cases, int[] workerCounts, int batch, int promptTokens, int decodeSteps, double seconds,
      PrintStream out) {
    out.printf(Locale.ROOT, "Disagg simulated backend timing benchmark, %s%n", Instant.now());
    out.printf(Locale.ROOT, "JVM %s, %d available processors, load average %s%n", Runtime.version(),
        Runtime.getRuntime().availableProcessors(), loadAverage());
    out.printf(Locale.ROOT, "workload per worker: prefill %d prompts of %d tokens together, decode them %d steps "
        + "(batch %d), close, repeat, for %.0f s after a 2 s warm-up; one platform thread per worker%n", batch, promptTokens, decodeSteps,
        batch, seconds);
    out.println("baseline: the roofline prediction of each call; error = (measured - predicted) / predicted");
    out.println();
    out.printf(Locale.ROOT, "%-8s %-10s %7s %-8s %8s %13s %10s %12s %12s%n", "profile", "model", "workers", "call",
        "samples", "predicted ms", "p50 error", "p90 |error|", "p99 |error|");
    for (Case c : cases) {
      for (int workers : workerCounts) {
        for (Stats s : measure(c, workers, batch, promptTokens, decodeSteps, seconds)) {
          out.printf(Locale.ROOT, "%-8s %-10s %7d %-8s %8d %13.3f %9.1f%% %11.1f%% %11.1f%%%n", c.profile(), c.shape(),
              workers, s.kind(), s.samples(), s.predictedMillis(), 100 * s.p50Error(), 100 * s.p90AbsError(),
              100 * s.p99AbsError());
        }
      }
    }
    out.printf(Locale.ROOT, "%nload average after: %s%n", loadAverage());
  }

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).strip();
    } catch (Exception e) {
      return "unknown";
    }
  }

  private static List<Stats> measure(Case c, int workers, int batch, int promptTokens, int decodeSteps,
      double seconds) {
    int blocksPerWorker = batch * ((promptTokens + decodeSteps + 15) / 16 + 1);
    BackendConfig config = BackendConfig.builder(Path.of("unused.gguf")).kvBlocks(blocksPerWorker).blockTokens(16)
        .maxBatchTokens(Math.max(2048, batch * promptTokens))
        .option(SimulatedOptions.PROFILE, c.profile()).option(SimulatedOptions.SHAPE, c.shape()).build();
    Roofline roofline = new Roofline(HardwareProfile.load(c.profile()), ModelShape.fromSpec(c.shape()), 1);
    List<Backend> backends = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      backends.add(Backends.open("simulated", config));
    }
    List<double[]> prefillErrors = new ArrayList<>();
    List<double[]> decodeErrors = new ArrayList<>();
    double[] predicted = new double[2];
    CountDownLatch start = new CountDownLatch(1);
    List<Thread> threads = new ArrayList<>();
    long warmUntil = System.nanoTime() + WARM_UP_NANOS; // JIT compilation: calls before this are not recorded
    long endAt = warmUntil + (long) (seconds * 1e9);
    for (int w = 0; w < workers; w++) {
      Backend backend = backends.get(w);
      int salt = w;
      double[][] results = new double[2][];
      Thread t = Thread.ofPlatform().name("sim-bench-" + w).start(() -> {
        List<Double> pre = new ArrayList<>();
        List<Double> dec = new ArrayList<>();
        try {
          start.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
        int round = 0;
        while (System.nanoTime() < endAt) {
          List<PrefillRequest> requests = new ArrayList<>();
          int[] promptLengths = new int[batch];
          int[] zeros = new int[batch];
          for (int b = 0; b < batch; b++) {
            int[] prompt = new int[promptTokens];
            for (int p = 0; p < promptTokens; p++) {
              prompt[p] = 3 + Math.floorMod(p * 31 + b * 7 + salt * 13 + round, 250);
            }
            promptLengths[b] = promptTokens;
            requests.add(new PrefillRequest("w" + salt + "-" + round + "-" + b, prompt, SamplingParams.greedy(),
                decodeSteps));
          }
          round++;
          long t0 = System.nanoTime();
          List<PrefillResult> started = backend.prefill(requests, io.disagg.backend.spi.PrefillListener.NONE);
          double prefillPredicted = roofline.forwardSeconds(promptLengths, zeros);
          if (t0 > warmUntil) {
            pre.add(((System.nanoTime() - t0) / 1e9 - prefillPredicted) / prefillPredicted);
          }
          int[] tokens = new int[batch];
          for (int b = 0; b < batch; b++) {
            tokens[b] = started.get(b).firstToken().tokenId();
          }
          for (int step = 0; step < decodeSteps && System.nanoTime() < endAt; step++) {
            List<DecodeSlot> slots = new ArrayList<>(batch);
            int[] cached = new int[batch];
            for (int b = 0; b < batch; b++) {
              cached[b] = started.get(b).sequence().cachedTokens();
              slots.add(new DecodeSlot(started.get(b).sequence(), tokens[b], SamplingParams.greedy()));
            }
            double stepPredicted = roofline.decodeSeconds(cached);
            long s0 = System.nanoTime();
            List<SampledToken> next = backend.decode(slots);
            if (s0 > warmUntil) {
              dec.add(((System.nanoTime() - s0) / 1e9 - stepPredicted) / stepPredicted);
            }
            for (int b = 0; b < batch; b++) {
              tokens[b] = next.get(b).tokenId();
            }
          }
          started.forEach(r -> r.sequence().close());
        }
        results[0] = pre.stream().mapToDouble(Double::doubleValue).toArray();
        results[1] = dec.stream().mapToDouble(Double::doubleValue).toArray();
        synchronized (prefillErrors) {
          prefillErrors.add(results[0]);
          decodeErrors.add(results[1]);
        }
      });
      threads.add(t);
    }
    int[] lengths = new int[batch];
    Arrays.fill(lengths, promptTokens);
    predicted[0] = roofline.forwardSeconds(lengths, new int[batch]);
    int[] mid = new int[batch];
    Arrays.fill(mid, promptTokens + decodeSteps / 2);
    predicted[1] = roofline.decodeSeconds(mid);
    start.countDown();
    for (Thread t : threads) {
      try {
        t.join();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
    backends.forEach(Backend::close);
    return List.of(stats("prefill", prefillErrors, predicted[0]), stats("decode", decodeErrors, predicted[1]));
  }

  private static Stats stats(String kind, List<double[]> perWorker, double predictedSeconds) {
    double[] all = perWorker.stream().flatMapToDouble(Arrays::stream).toArray();
    if (all.length == 0) {
      return new Stats(kind, 0, predictedSeconds * 1e3, Double.NaN, Double.NaN, Double.NaN);
    }
    double[] sorted = all.clone();
    Arrays.sort(sorted);
    double[] abs = Arrays.stream(all).map(Math::abs).sorted().toArray();
    return new Stats(kind, all.length, predictedSeconds * 1e3, percentile(sorted, 0.50), percentile(abs, 0.90),
        percentile(abs, 0.99));
  }

  static double percentile(double[] sorted, double q) {
    int index = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(index, sorted.length - 1))];
  }
}
