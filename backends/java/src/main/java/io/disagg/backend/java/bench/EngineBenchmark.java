package io.disagg.backend.java.bench;

import io.disagg.backend.java.JavaBackendProvider;
import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.java.internal.tensor.ScalarKernels;
import io.disagg.backend.java.internal.tensor.VectorKernels;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendProvider;
import io.disagg.backend.spi.Backends;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.ModelInfo;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
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
import java.util.SplittableRandom;
import java.util.function.LongSupplier;

/**
 * Prefill and decode throughput of one or two backends opened by name through {@link Backends} (ServiceLoader), next
 * to the decode bound that memory bandwidth allows, measured in the same run with the same thread count: a stream
 * read of an off-heap buffer larger than the L3 cache gives GB/s, and {@code bound tok/s = GB/s ÷ weight bytes read
 * per token}. Models: stories260K (real weights; fits in cache, so its DRAM bound is only indicative) and a
 * synthetic ~100M-parameter Llama written to a temporary directory in each requested type.
 *
 * <p><b>Prefill is measured cold.</b> Every prefill (warm-up and timed) gets a fresh random prompt drawn from a
 * seeded generator, and the Java backend is opened with its prefix cache off ({@code java.prefix-cache=false});
 * each timed prefill's {@link PrefillResult#cachedPromptTokens()} must be 0, or the run fails with an
 * {@link IllegalStateException}, so no figure can come from cached blocks. (An earlier version prefilled the same
 * prompt every round with the cache on, which overstated prefill.)
 *
 * <p>Decode at batch B: B sequences are prefilled (untimed), then decode steps run over all B together, one token
 * per sequence per step; tok/s counts every sequence's tokens.
 *
 * <p>Run {@code main} with {@code --help} for options; the CLI calls {@link #run(Options, PrintStream)}.
 */
public final class EngineBenchmark {

  /**
   * What to run.
   *
   * @param model stories260K (or any GGUF) to benchmark first; empty to skip
   * @param threads thread counts to measure at, each also used for its bandwidth measurement
   * @param promptTokens tokens prefilled per timed prefill
   * @param decodeTokens decode steps per timed decode measurement
   * @param batches decode batch sizes
   * @param syntheticSpec shape of the synthetic model ({@code SyntheticModel.fromShapeSpec}); empty to skip
   * @param syntheticTypes tensor types to write the synthetic model in
   * @param bandwidthBytes size of the buffer streamed to measure memory bandwidth
   * @param workDir where synthetic models are written (deleted afterwards)
   * @param backends backend names, in order; with two, ratio lines give the first ÷ the second
   * @param warmUpNanos how long each configuration runs untimed first, for the JIT
   * @param rounds timed rounds; each figure is the best round
   */
  public record Options(Optional<Path> model, List<Integer> threads, int promptTokens, int decodeTokens,
      List<Integer> batches, Optional<String> syntheticSpec, List<String> syntheticTypes, long bandwidthBytes,
      Path workDir, List<String> backends, long warmUpNanos, int rounds) {
    public Options {
      Objects.requireNonNull(model, "model");
      Objects.requireNonNull(syntheticSpec, "syntheticSpec");
      threads = List.copyOf(threads);
      batches = List.copyOf(batches);
      syntheticTypes = List.copyOf(syntheticTypes);
      syntheticTypes.forEach(t -> SyntheticModel.builder().typeName(t)); // refuses unknown names
      backends = List.copyOf(backends);
      Objects.requireNonNull(workDir, "workDir");
      if (threads.isEmpty() || threads.stream().anyMatch(t -> t <= 0)) {
        throw new IllegalArgumentException("threads: " + threads + " (expected: one or more counts > 0)");
      }
      if (batches.isEmpty() || batches.stream().anyMatch(b -> b <= 0)) {
        throw new IllegalArgumentException("batches: " + batches + " (expected: one or more sizes > 0)");
      }
      if (promptTokens <= 0) {
        throw new IllegalArgumentException("promptTokens: " + promptTokens + " (expected: > 0)");
      }
      if (decodeTokens <= 1) {
        throw new IllegalArgumentException("decodeTokens: " + decodeTokens + " (expected: > 1)");
      }
      if (bandwidthBytes < (64L << 20)) {
        throw new IllegalArgumentException("bandwidthBytes: " + bandwidthBytes + " (expected: >= 64 MiB, beyond L3)");
      }
      if (backends.isEmpty() || backends.size() > 2) {
        throw new IllegalArgumentException("backends: " + backends + " (expected: one or two names)");
      }
      if (warmUpNanos < 0) {
        throw new IllegalArgumentException("warmUpNanos: " + warmUpNanos + " (expected: >= 0)");
      }
      if (rounds <= 0) {
        throw new IllegalArgumentException("rounds: " + rounds + " (expected: > 0)");
      }
    }

    /**
     * stories260K from the shared folder when present, synthetic "100m" in F32, Q8_0, Q4_0 and Q4_K, threads 1 and 2,
     * 128-token prompts, 32 decode steps at batch 1 and 8, 1 GiB bandwidth buffer, backend java, 2 s warm-up, 5 rounds.
     */
    public static Options defaults() {
      Optional<Path> stories = Optional.ofNullable(System.getProperty("disagg.shared.dir"))
          .map(d -> Path.of(d, "models", "stories260K", "stories260K.gguf"))
          .or(() -> Optional.of(Path.of("models", "stories260K", "stories260K.gguf")))
          .filter(Files::isReadable);
      return new Options(stories, List.of(1, 2), 128, 32, List.of(1, 8), Optional.of("100m"),
          List.of("F32", "Q8_0", "Q4_0", "Q4_K"), 1L << 30,
          Path.of(System.getProperty("java.io.tmpdir")), List.of(JavaBackendProvider.NAME), 2_000_000_000L, 5);
    }

    /**
     * Parses {@code --model P|none --threads 1,2 --prompt-tokens N --decode-tokens N --batches 1,8
     * --synthetic SPEC|none --types F32,Q8_0 --bandwidth-mib N --work-dir P --backends java[,OTHER]
     * --warm-up-ms N --rounds N} over {@link #defaults()}.
     *
     * @throws IllegalArgumentException with the usage text for unknown flags, bad values, or a backend name that no
     *     provider on the class path has
     */
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
        try {
          o = switch (flag) {
            case "--model" -> o.with(v.equals("none") ? Optional.empty() : Optional.of(Path.of(v)), o.threads,
                o.promptTokens, o.decodeTokens, o.batches, o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes,
                o.workDir, o.backends, o.warmUpNanos, o.rounds);
            case "--threads" -> o.with(o.model, ints(v), o.promptTokens, o.decodeTokens, o.batches, o.syntheticSpec,
                o.syntheticTypes, o.bandwidthBytes, o.workDir, o.backends, o.warmUpNanos, o.rounds);
            case "--prompt-tokens" -> o.with(o.model, o.threads, Integer.parseInt(v), o.decodeTokens, o.batches,
                o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir, o.backends, o.warmUpNanos, o.rounds);
            case "--decode-tokens" -> o.with(o.model, o.threads, o.promptTokens, Integer.parseInt(v), o.batches,
                o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir, o.backends, o.warmUpNanos, o.rounds);
            case "--batches" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, ints(v), o.syntheticSpec,
                o.syntheticTypes, o.bandwidthBytes, o.workDir, o.backends, o.warmUpNanos, o.rounds);
            case "--synthetic" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches,
                v.equals("none") ? Optional.empty() : Optional.of(v), o.syntheticTypes, o.bandwidthBytes, o.workDir,
                o.backends, o.warmUpNanos, o.rounds);
            case "--types" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches, o.syntheticSpec,
                Arrays.stream(v.split(",")).map(s -> s.trim().toUpperCase(Locale.ROOT)).toList(),
                o.bandwidthBytes, o.workDir, o.backends, o.warmUpNanos, o.rounds);
            case "--bandwidth-mib" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches,
                o.syntheticSpec, o.syntheticTypes, Long.parseLong(v) << 20, o.workDir, o.backends, o.warmUpNanos,
                o.rounds);
            case "--work-dir" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches,
                o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, Path.of(v), o.backends, o.warmUpNanos, o.rounds);
            case "--backends" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches,
                o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir, knownBackends(v), o.warmUpNanos,
                o.rounds);
            case "--warm-up-ms" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches,
                o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir, o.backends,
                Long.parseLong(v) * 1_000_000L, o.rounds);
            case "--rounds" -> o.with(o.model, o.threads, o.promptTokens, o.decodeTokens, o.batches,
                o.syntheticSpec, o.syntheticTypes, o.bandwidthBytes, o.workDir, o.backends, o.warmUpNanos,
                Integer.parseInt(v));
            default -> throw new IllegalArgumentException("unknown option " + flag);
          };
        } catch (IllegalArgumentException e) { // NumberFormatException included
          throw new IllegalArgumentException(flag + " " + v + ": " + e.getMessage() + "\n" + usage(), e);
        }
      }
      return o;
    }

    private Options with(Optional<Path> model, List<Integer> threads, int promptTokens, int decodeTokens,
        List<Integer> batches, Optional<String> syntheticSpec, List<String> syntheticTypes, long bandwidthBytes,
        Path workDir, List<String> backends, long warmUpNanos, int rounds) {
      return new Options(model, threads, promptTokens, decodeTokens, batches, syntheticSpec, syntheticTypes,
          bandwidthBytes, workDir, backends, warmUpNanos, rounds);
    }

    private static List<Integer> ints(String v) {
      return Arrays.stream(v.split(",")).map(s -> Integer.parseInt(s.trim())).toList();
    }

    /** The names in {@code v}, each checked against the providers on the class path. */
    private static List<String> knownBackends(String v) {
      List<String> names = Arrays.stream(v.split(",")).map(String::trim).toList();
      List<String> known = Backends.providers().stream().map(BackendProvider::name).toList();
      for (String name : names) {
        if (!known.contains(name)) {
          throw new IllegalArgumentException("backend " + name + " is not on the class path (available: "
              + String.join(", ", known) + ")");
        }
      }
      return names;
    }

    static String usage() {
      return "usage: bench engine [--model PATH|none] [--threads 1,2] [--prompt-tokens N] [--decode-tokens N]"
          + " [--batches 1,8] [--synthetic SPEC|none] [--types F32,Q8_0,Q4_0,Q4_K,Q5_K,Q6_K,Q4_K_M] [--bandwidth-mib N] [--work-dir DIR]"
          + " [--backends java[,llamacpp]] [--warm-up-ms N] [--rounds N]";
    }
  }

  /**
   * One model, backend and thread count.
   *
   * @param decodeTokensPerSecond decode tok/s (all sequences together) per entry of {@link Options#batches()}
   * @param cachedPromptTokens prompt tokens the timed prefills reused from a prefix cache: always 0 in a finished
   *     run (the benchmark fails otherwise)
   */
  public record Row(String model, String type, String backend, int threads, long weightBytes,
      double bandwidthGbPerSecond, double prefillTokensPerSecond, List<Integer> batches,
      List<Double> decodeTokensPerSecond, double boundTokensPerSecond, long cachedPromptTokens) {
    public Row {
      batches = List.copyOf(batches);
      decodeTokensPerSecond = List.copyOf(decodeTokensPerSecond);
    }

    /** Batch-1 decode (the first batch size) against the bandwidth bound. */
    public double decodeToBound() {
      return decodeTokensPerSecond.getFirst() / boundTokensPerSecond;
    }
  }

  /**
   * The first backend ÷ the second for one model and thread count.
   *
   * @param decode ratio at the first batch size
   */
  public record Ratio(String model, String type, int threads, double prefill, double decode) {}

  /** Everything measured. */
  public record Report(List<Row> rows, List<Ratio> ratios) {}

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
    out.printf(Locale.ROOT, "Disagg engine benchmark, %s%n", Instant.now());
    out.printf(Locale.ROOT, "JVM %s, %d available processors, Java engine vector lanes %d (%s), backends %s%n",
        Runtime.version(), Runtime.getRuntime().availableProcessors(), VectorKernels.lanes(),
        VectorKernels.ENABLED ? "Vector API" : "scalar", String.join(", ", options.backends()));
    out.printf(Locale.ROOT, "workload: prefill of a fresh random %d-token prompt (prefix cache off, checked), then "
        + "%d decode steps at batch %s; %.1f s warm-up, then %d rounds, best of each%n", options.promptTokens(),
        options.decodeTokens(), options.batches(), options.warmUpNanos() / 1e9, options.rounds());
    out.printf(Locale.ROOT, "decode bound = GB/s (stream read of %d MiB off-heap, same thread count, measured next to"
        + " each round) / weight bytes read per token%n%n", options.bandwidthBytes() >> 20);
    StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-18s %6s %-9s %3s %10s %7s %13s",
        "model", "type", "backend", "thr", "weights MB", "GB/s", "prefill tok/s"));
    for (int b : options.batches()) {
      header.append(String.format(Locale.ROOT, " %12s", "decode b" + b));
    }
    header.append(String.format(Locale.ROOT, " %11s %8s", "bound tok/s", "b1/bound"));
    out.println(header);
    List<Row> rows = new ArrayList<>();
    List<Ratio> ratios = new ArrayList<>();
    options.model().ifPresent(path -> measureModel(path.getFileName().toString().replace(".gguf", ""),
        dominantType(path), path, options, out, rows, ratios));
    options.syntheticSpec().ifPresent(spec -> {
      for (String type : options.syntheticTypes()) {
        Path file = options.workDir().resolve("disagg-bench-" + spec + "-" + type + "-"
            + ProcessHandle.current().pid() + ".gguf");
        try {
          long started = System.nanoTime();
          SyntheticModel.fromShapeSpec(spec).typeName(type).seed(1).name("synthetic-" + spec).write(file);
          out.printf(Locale.ROOT, "  (wrote synthetic-%s %s in %.1f s)%n", spec, type,
              (System.nanoTime() - started) / 1e9);
          measureModel("synthetic-" + spec, type, file, options, out, rows, ratios);
        } finally {
          try {
            Files.deleteIfExists(file);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      }
    });
    if (!ratios.isEmpty()) {
      out.printf(Locale.ROOT, "%n%s ÷ %s (prefill, decode at batch %d):%n", options.backends().get(0),
          options.backends().get(1), options.batches().getFirst());
      for (Ratio r : ratios) {
        out.printf(Locale.ROOT, "engine ratio %s prefill %.2f decode %.2f (%s, %d thread%s)%n", r.type(),
            r.prefill(), r.decode(), r.model(), r.threads(), r.threads() == 1 ? "" : "s");
      }
    }
    out.printf(Locale.ROOT, "%nThe bound assumes weights stream from DRAM; a model that fits in L3 (stories260K, "
        + "1 MB) is limited by per-token overheads instead, so its ratio is not meaningful.%n");
    return new Report(rows, ratios);
  }

  private static void measureModel(String name, String type, Path file, Options options, PrintStream out,
      List<Row> rows, List<Ratio> ratios) {
    for (int threads : options.threads()) {
      List<Row> perBackend = new ArrayList<>();
      try (BandwidthProbe probe = new BandwidthProbe(options.bandwidthBytes(), threads, System::nanoTime)) {
        for (String backend : options.backends()) {
          Row row = measure(name, type, backend, file, threads, options, probe);
          print(out, row);
          rows.add(row);
          perBackend.add(row);
        }
      }
      if (perBackend.size() == 2) {
        Row a = perBackend.get(0);
        Row b = perBackend.get(1);
        ratios.add(new Ratio(name, type, threads, a.prefillTokensPerSecond() / b.prefillTokensPerSecond(),
            a.decodeTokensPerSecond().getFirst() / b.decodeTokensPerSecond().getFirst()));
      }
    }
  }

  private static void print(PrintStream out, Row r) {
    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-18s %6s %-9s %3d %10.1f %7.1f %13.1f",
        r.model(), r.type(), r.backend(), r.threads(), r.weightBytes() / 1e6, r.bandwidthGbPerSecond(),
        r.prefillTokensPerSecond()));
    for (double d : r.decodeTokensPerSecond()) {
      line.append(String.format(Locale.ROOT, " %12.1f", d));
    }
    line.append(String.format(Locale.ROOT, " %11.1f %7.0f%%", r.boundTokensPerSecond(), 100 * r.decodeToBound()));
    out.println(line);
  }

  private static Row measure(String name, String type, String backendName, Path model, int threads, Options options,
      BandwidthProbe probe) {
    int maxBatch = options.batches().stream().mapToInt(Integer::intValue).max().orElseThrow();
    int context = options.promptTokens() + options.decodeTokens() + 1;
    int blocksPerSequence = context / 16 + 2;
    BackendConfig config = BackendConfig.builder(model).threads(threads).blockTokens(16)
        .kvBlocks((maxBatch + 1) * blocksPerSequence).maxBatchTokens(Math.max(options.promptTokens(), 16))
        .option(JavaBackend.PREFIX_CACHE, "false").build();
    try (Backend backend = Backends.open(backendName, config)) {
      ModelInfo info = backend.model();
      if (info.contextLength() < context) {
        throw new IllegalArgumentException(name + ": context length " + info.contextLength() + " is shorter than "
            + "prompt + decode tokens " + context);
      }
      SplittableRandom random = new SplittableRandom(42);
      long warmUpEnd = System.nanoTime() + options.warmUpNanos();
      for (int round = 0; round < 100 && System.nanoTime() < warmUpEnd; round++) {
        timedPrefill(backend, prompt(info, options.promptTokens(), random));
        for (int batch : options.batches()) {
          timedDecode(backend, info, batch, options, random);
        }
      }
      long bestPrefill = Long.MAX_VALUE;
      long[] bestDecode = new long[options.batches().size()];
      Arrays.fill(bestDecode, Long.MAX_VALUE);
      double bestGbps = 0;
      long cached = 0;
      // The machine is shared: bandwidth is measured next to each round so that bound and result see the same load.
      for (int round = 0; round < options.rounds(); round++) {
        bestGbps = Math.max(bestGbps, probe.measure(2));
        long[] prefill = timedPrefill(backend, prompt(info, options.promptTokens(), random));
        cached += prefill[1];
        bestPrefill = Math.min(bestPrefill, prefill[0]);
        for (int i = 0; i < options.batches().size(); i++) {
          bestDecode[i] = Math.min(bestDecode[i], timedDecode(backend, info, options.batches().get(i), options,
              random));
        }
      }
      List<Double> decode = new ArrayList<>();
      for (int i = 0; i < bestDecode.length; i++) {
        decode.add((double) options.batches().get(i) * options.decodeTokens() / (bestDecode[i] / 1e9));
      }
      return new Row(name, type, backendName, threads, info.weightBytes(), bestGbps,
          options.promptTokens() / (bestPrefill / 1e9), options.batches(), decode,
          bestGbps * 1e9 / info.weightBytes(), cached);
    }
  }

  /**
   * Prefills {@code prompt} and closes the sequence; returns {nanos, cached prompt tokens}.
   *
   * @throws IllegalStateException if any prompt token came from a prefix cache
   */
  static long[] timedPrefill(Backend backend, int[] prompt) {
    long t0 = System.nanoTime();
    PrefillResult r = backend.prefill(new PrefillRequest("bench-prefill", prompt, SamplingParams.greedy()));
    long elapsed = System.nanoTime() - t0;
    r.sequence().close();
    if (r.cachedPromptTokens() != 0) {
      throw new IllegalStateException("timed prefill reused " + r.cachedPromptTokens() + " cached prompt tokens: "
          + "the prefill figure would not be prefill speed");
    }
    return new long[] {elapsed, r.cachedPromptTokens()};
  }

  /** Prefills {@code batch} fresh prompts (untimed), then times {@code decodeTokens} steps over all of them. */
  private static long timedDecode(Backend backend, ModelInfo info, int batch, Options options,
      SplittableRandom random) {
    List<Sequence> sequences = new ArrayList<>(batch);
    List<DecodeSlot> slots = new ArrayList<>(batch);
    try {
      for (int i = 0; i < batch; i++) {
        PrefillResult r = backend.prefill(new PrefillRequest("bench-decode-" + i,
            prompt(info, options.promptTokens(), random), SamplingParams.greedy(), options.decodeTokens() + 1));
        sequences.add(r.sequence());
        slots.add(new DecodeSlot(r.sequence(), r.firstToken().tokenId(), SamplingParams.greedy()));
      }
      long t0 = System.nanoTime();
      for (int step = 0; step < options.decodeTokens(); step++) {
        var next = backend.decode(slots);
        for (int i = 0; i < batch; i++) {
          slots.set(i, new DecodeSlot(sequences.get(i), next.get(i).tokenId(), SamplingParams.greedy()));
        }
      }
      return System.nanoTime() - t0;
    } finally {
      sequences.forEach(Sequence::close);
    }
  }

  /** BOS, then uniformly random ids above the special tokens: a prompt no earlier call has seen. */
  static int[] prompt(ModelInfo info, int length, SplittableRandom random) {
    int[] ids = new int[length];
    ids[0] = 1;
    int low = Math.min(3, info.vocabSize() - 1);
    for (int i = 1; i < length; i++) {
      ids[i] = random.nextInt(low, info.vocabSize());
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
