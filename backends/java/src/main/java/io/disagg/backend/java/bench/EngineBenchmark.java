package io.disagg.backend.java.bench;

import io.disagg.backend.java.JavaBackendProvider;
import io.disagg.backend.java.internal.tensor.ScalarKernels;
import io.disagg.backend.java.internal.tensor.VectorKernels;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.gguf.GgmlType;
import io.disagg.gguf.SyntheticModel;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Prefill and decode throughput of the Java engine, next to the decode bound that memory bandwidth allows, measured
 * in the same run with the same thread count: a stream read of an off-heap buffer larger than the L3 cache gives
 * GB/s, and {@code bound tok/s = GB/s ÷ weight bytes read per token}. Models: stories260K (real weights; fits in
 * cache, so its DRAM bound is only indicative) and a synthetic ~100M-parameter Llama written to a temporary
 * directory in F32 and Q8_0.
 *
 * <p>Run {@code main} with {@code --help} for options; the CLI calls {@link #run(Options, PrintStream)}.
 */
public final class EngineBenchmark {

  /**
   * What to run.
   *
   * @param model stories260K (or any GGUF) to benchmark first; empty to skip
   * @param threads compute threads, also used for the bandwidth measurement
   * @param promptTokens tokens prefilled per measurement
   * @param decodeTokens tokens decoded per measurement
   * @param syntheticSpec shape of the synthetic model ({@code SyntheticModel.fromShapeSpec}); empty to skip
   * @param syntheticTypes tensor types to write the synthetic model in
   * @param bandwidthBytes size of the buffer streamed to measure memory bandwidth
   * @param workDir where synthetic models are written (deleted afterwards)
   */
  public record Options(Optional<Path> model, int threads, int promptTokens, int decodeTokens,
      Optional<String> syntheticSpec, List<GgmlType> syntheticTypes, long bandwidthBytes, Path workDir) {
    public Options {
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(syntheticSpec, "syntheticSpec");
      syntheticTypes = List.copyOf(syntheticTypes);
      Objects.requireNonNull(workDir, "workDir");
      if (threads <= 0) {
        throw new IllegalArgumentException("threads: " + threads + " (expected: > 0)");
      }
      if (promptTokens <= 0) {
        throw new IllegalArgumentException("promptTokens: " + promptTokens + " (expected: > 0)");
      }
      if (decodeTokens <= 0) {
        throw new IllegalArgumentException("decodeTokens: " + decodeTokens + " (expected: > 0)");
      }
      if (bandwidthBytes < (64L << 20)) {
        throw new IllegalArgumentException("bandwidthBytes: " + bandwidthBytes + " (expected: >= 64 MiB, beyond L3)");
      }
    }

    /** stories260K from the shared folder when present, synthetic "100m" in F32 and Q8_0, one thread, 1 GiB. */
    public static Options defaults() {
      Optional<Path> stories = Optional.ofNullable(System.getProperty("disagg.shared.dir"))
          .map(d -> Path.of(d, "models", "stories260K", "stories260K.gguf"))
          .or(() -> Optional.of(Path.of("..", "shared", "models", "stories260K", "stories260K.gguf")))
          .filter(Files::isReadable);
      return new Options(stories, 1, 64, 32, Optional.of("100m"), List.of(GgmlType.F32, GgmlType.Q8_0), 1L << 30,
          Path.of(System.getProperty("java.io.tmpdir")));
    }

    /** Parses {@code --model P --threads N --prompt-tokens N --decode-tokens N --synthetic SPEC|none
     *  --types F32,Q8_0 --bandwidth-mib N --work-dir P} over {@link #defaults()}. */
    public static Options parse(String... args) {
      Options o = defaults();
      for (int i = 0; i < args.length; i++) {
        String flag = args[i];
        if (flag.equals("--help") || flag.equals("-h")) {
          throw new IllegalArgumentException(usage());
        }
        if (i + 1 >= args.length) {
          throw new IllegalArgumentException(flag + ": missing value\n" + usage());
        }
        String v = args[++i];
        o = switch (flag) {
          case "--model" -> new Options(v.equals("none") ? Optional.empty() : Optional.of(Path.of(v)), o.threads,
              o.promptTokens, o.decodeTokens, o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir);
          case "--threads" -> new Options(o.model, Integer.parseInt(v), o.promptTokens, o.decodeTokens,
              o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir);
          case "--prompt-tokens" -> new Options(o.model, o.threads, Integer.parseInt(v), o.decodeTokens,
              o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir);
          case "--decode-tokens" -> new Options(o.model, o.threads, o.promptTokens, Integer.parseInt(v),
              o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir);
          case "--synthetic" -> new Options(o.model, o.threads, o.promptTokens, o.decodeTokens,
              v.equals("none") ? Optional.empty() : Optional.of(v), o.syntheticTypes, o.bandwidthBytes, o.workDir);
          case "--types" -> new Options(o.model, o.threads, o.promptTokens, o.decodeTokens, o.syntheticSpec,
              Arrays.stream(v.split(",")).map(s -> GgmlType.valueOf(s.trim().toUpperCase(Locale.ROOT))).toList(),
              o.bandwidthBytes, o.workDir);
          case "--bandwidth-mib" -> new Options(o.model, o.threads, o.promptTokens, o.decodeTokens, o.syntheticSpec,
              o.syntheticTypes, Long.parseLong(v) << 20, o.workDir);
          case "--work-dir" -> new Options(o.model, o.threads, o.promptTokens, o.decodeTokens, o.syntheticSpec,
              o.syntheticTypes, o.bandwidthBytes, Path.of(v));
          default -> throw new IllegalArgumentException("unknown option " + flag + "\n" + usage());
        };
      }
      return o;
    }

    static String usage() {
      return "usage: bench engine [--model PATH|none] [--threads N] [--prompt-tokens N] [--decode-tokens N]"
          + " [--synthetic SPEC|none] [--types F32,Q8_0] [--bandwidth-mib N] [--work-dir DIR]";
    }
  }

  /** One model's figures. */
  public record Row(String model, String type, long weightBytes, double bandwidthGbPerSecond,
      double prefillTokensPerSecond, double decodeTokensPerSecond, double boundTokensPerSecond) {
    public double decodeToBound() {
      return decodeTokensPerSecond / boundTokensPerSecond;
    }
  }

  /** Everything measured. */
  public record Report(int threads, double bandwidthGbPerSecond, List<Row> rows) {}

  private static final long WARM_UP_NANOS = 2_000_000_000L;
  private static final int TIMED_ROUNDS = 5;

  private EngineBenchmark() {}

  public static void main(String[] args) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    run(options, System.out);
  }

  /** Runs the benchmark, printing as it goes to {@code out}. */
  public static Report run(Options options, PrintStream out) {
    out.printf(Locale.ROOT, "Disagg Java engine benchmark, %s%n", Instant.now());
    out.printf(Locale.ROOT, "JVM %s, %d available processors, threads %d, vector lanes %d (%s)%n",
        Runtime.version(), Runtime.getRuntime().availableProcessors(), options.threads(), VectorKernels.lanes(),
        VectorKernels.ENABLED ? "Vector API" : "scalar");
    out.printf(Locale.ROOT, "workload: prefill %d tokens, then decode %d tokens greedily (batch 1); ~2 s warm-up, "
        + "then %d rounds, best of each%n", options.promptTokens(), options.decodeTokens(), TIMED_ROUNDS);
    try (BandwidthProbe probe = new BandwidthProbe(options.bandwidthBytes(), options.threads(), System::nanoTime)) {
      double gbps = probe.measure(5);
      out.printf(Locale.ROOT, "baseline: stream read of %d MiB off-heap with %d thread(s): %.1f GB/s at start "
          + "(best of 5); re-measured before each timed round, rows use the best of their own rounds%n",
          options.bandwidthBytes() >> 20, options.threads(), gbps);
      out.printf(Locale.ROOT, "decode bound = GB/s / weight bytes read per token%n%n");
      out.printf(Locale.ROOT, "%-18s %5s %10s %9s %14s %13s %12s %13s%n", "model", "type", "weights MB", "GB/s",
          "prefill tok/s", "decode tok/s", "bound tok/s", "decode/bound");
      List<Row> rows = new ArrayList<>();
      options.model().ifPresent(path -> {
        Row row = measure(path.getFileName().toString().replace(".gguf", ""), path, options, probe);
        print(out, row);
        rows.add(row);
      });
      options.syntheticSpec().ifPresent(spec -> {
        for (GgmlType type : options.syntheticTypes()) {
          Path file = options.workDir().resolve("disagg-bench-" + spec + "-" + type + "-"
              + ProcessHandle.current().pid() + ".gguf");
          try {
            long started = System.nanoTime();
            SyntheticModel.fromShapeSpec(spec).tensorType(type).seed(1).name("synthetic-" + spec).write(file);
            out.printf(Locale.ROOT, "  (wrote synthetic-%s %s in %.1f s)%n", spec, type,
                (System.nanoTime() - started) / 1e9);
            Row row = measure("synthetic-" + spec, file, options, probe);
            print(out, row);
            rows.add(row);
          } finally {
            try {
              Files.deleteIfExists(file);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          }
        }
      });
      out.printf(Locale.ROOT, "%nThe bound assumes weights stream from DRAM; a model that fits in L3 (stories260K, "
          + "1 MB) is limited by per-token overheads instead, so its ratio is not meaningful.%n");
      return new Report(options.threads(), gbps, rows);
    }
  }

  private static void print(PrintStream out, Row r) {
    out.printf(Locale.ROOT, "%-18s %5s %10.1f %9.1f %14.1f %13.1f %12.1f %12.0f%%%n", r.model(), r.type(),
        r.weightBytes() / 1e6, r.bandwidthGbPerSecond(), r.prefillTokensPerSecond(), r.decodeTokensPerSecond(),
        r.boundTokensPerSecond(), 100 * r.decodeToBound());
  }

  private static Row measure(String name, Path model, Options options, BandwidthProbe probe) {
    int context = options.promptTokens() + options.decodeTokens() + 1;
    BackendConfig config = BackendConfig.builder(model).threads(options.threads()).blockTokens(16)
        .kvBlocks(2 * (context / 16 + 2)).maxBatchTokens(Math.max(options.promptTokens(), 16)).build();
    try (Backend backend = new JavaBackendProvider().open(config)) {
      ModelInfo info = backend.model();
      int[] prompt = prompt(info, options.promptTokens());
      // Warm-up: run the whole workload until the JIT has had ~2 s to compile the hot paths.
      long warmUpEnd = System.nanoTime() + WARM_UP_NANOS;
      for (int round = 0; round < 100 && System.nanoTime() < warmUpEnd; round++) {
        run(backend, prompt, options.decodeTokens());
      }
      long bestPrefill = Long.MAX_VALUE;
      long bestDecode = Long.MAX_VALUE;
      double bestGbps = 0;
      // The machine is shared: bandwidth is measured next to each round so that bound and result see the same load.
      for (int round = 0; round < TIMED_ROUNDS; round++) {
        bestGbps = Math.max(bestGbps, probe.measure(2));
        long[] timings = run(backend, prompt, options.decodeTokens());
        bestPrefill = Math.min(bestPrefill, timings[0]);
        bestDecode = Math.min(bestDecode, timings[1]);
      }
      double prefill = options.promptTokens() / (bestPrefill / 1e9);
      double decode = (options.decodeTokens() - 1) / (bestDecode / 1e9);
      String type = dominantType(model);
      return new Row(name, type, info.weightBytes(), bestGbps, prefill, decode, bestGbps * 1e9 / info.weightBytes());
    }
  }

  /** Returns {prefill nanos, decode nanos}. */
  private static long[] run(Backend backend, int[] prompt, int decodeTokens) {
    long t0 = System.nanoTime();
    PrefillResult r = backend.prefill(new PrefillRequest("bench", prompt, SamplingParams.greedy(), decodeTokens));
    long t1 = System.nanoTime();
    int token = r.firstToken().tokenId();
    for (int i = 1; i < decodeTokens; i++) {
      token = backend.decode(List.of(new DecodeSlot(r.sequence(), token, SamplingParams.greedy()))).getFirst()
          .tokenId();
    }
    long t2 = System.nanoTime();
    r.sequence().close();
    return new long[] {t1 - t0, t2 - t1};
  }

  private static int[] prompt(ModelInfo info, int length) {
    int[] ids = new int[length];
    ids[0] = 1;
    for (int i = 1; i < length; i++) {
      ids[i] = 3 + (i * 37) % Math.max(1, Math.min(info.vocabSize(), 500) - 3);
    }
    return ids;
  }

  private static String dominantType(Path model) {
    try (io.disagg.gguf.GgufFile f = io.disagg.gguf.GgufFile.open(model)) {
      return f.findTensor("blk.0.ffn_up.weight").map(t -> t.type().name()).orElse("?");
    }
  }

  /**
   * Streams a buffer of {@code bytes} (larger than L3) with {@code threads} threads, each summing its share with the
   * vector kernel; returns the best of five passes in GB/s (10^9 bytes per second).
   */
  public static double measureBandwidth(long bytes, int threads, LongSupplier nanoTime) {
    try (BandwidthProbe probe = new BandwidthProbe(bytes, threads, nanoTime)) {
      return probe.measure(5);
    }
  }

  /** An off-heap buffer larger than L3, streamed on demand to measure read bandwidth. */
  private static final class BandwidthProbe implements AutoCloseable {
    private final Arena arena = Arena.ofShared();
    private final MemorySegment buffer;
    private final int threads;
    private final LongSupplier nanoTime;

    BandwidthProbe(long bytes, int threads, LongSupplier nanoTime) {
      this.buffer = arena.allocate(bytes, 64);
      this.threads = threads;
      this.nanoTime = nanoTime;
      buffer.fill((byte) 1); // touch every page so that the first timed pass does not measure page faults
    }

    @Override
    public void close() {
      arena.close();
    }

    /** Best of {@code passes} full reads, GB/s. */
    double measure(int passes) {
      long bytes = buffer.byteSize();
      long floats = bytes / Float.BYTES;
      double best = 0;
      float[] sink = new float[threads];
      for (int pass = 0; pass < passes; pass++) {
        Thread[] workers = new Thread[threads - 1];
        long start = nanoTime.getAsLong();
        for (int t = 1; t < threads; t++) {
          int share = t;
          workers[t - 1] = Thread.ofPlatform().start(() -> sink[share] = sumShare(buffer, floats, share, threads));
        }
        sink[0] = sumShare(buffer, floats, 0, threads);
        for (Thread w : workers) {
          try {
            w.join();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while measuring bandwidth", e);
          }
        }
        long elapsed = nanoTime.getAsLong() - start;
        best = Math.max(best, bytes / (double) elapsed);
      }
      if (Float.isNaN(sink[0])) {
        throw new IllegalStateException("bandwidth buffer read back NaN");
      }
      return best;
    }
  }

  private static float sumShare(MemorySegment buffer, long floats, int share, int shares) {
    long from = floats * share / shares;
    long to = floats * (share + 1) / shares;
    return VectorKernels.ENABLED
        ? VectorKernels.sumF32(buffer, from * Float.BYTES, to - from)
        : ScalarKernels.sumF32(buffer, from * Float.BYTES, to - from);
  }

}
