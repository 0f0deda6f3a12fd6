package io.disagg.cli.internal;

import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.ToIntFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Unmatched;

/**
 * Commands that hand their arguments to another module's own entry point, which owns its options and {@code --help}.
 */
public final class ComponentCommands {
  private ComponentCommands() {}

  abstract static class Delegating implements Callable<Integer> {
    @Unmatched List<String> args = new java.util.ArrayList<>();

    abstract ToIntFunction<String[]> target();

    @Override
    public Integer call() {
      return target().applyAsInt(args.toArray(String[]::new));
    }
  }

  @Command(name = "router", description = "Runs the router (gRPC front door + OpenAI HTTP). See router --help.")
  public static final class Router extends Delegating {
    @Override
    ToIntFunction<String[]> target() {
      return io.disagg.router.RouterMain::run;
    }
  }

  @Command(name = "prefill-worker", description = "Runs a prefill worker. See prefill-worker --help.")
  public static final class PrefillWorker extends Delegating {
    @Override
    ToIntFunction<String[]> target() {
      return io.disagg.prefill.PrefillWorkerMain::run;
    }
  }

  @Command(name = "decode-worker", description = "Runs a decode worker. See decode-worker --help.")
  public static final class DecodeWorker extends Delegating {
    @Override
    ToIntFunction<String[]> target() {
      return io.disagg.decode.DecodeWorkerMain::run;
    }
  }

  @Command(name = "loadtest", description = "Runs the load generator (TTFT, TPOT, ITL, goodput). See loadtest --help.")
  public static final class LoadTest extends Delegating {
    @Override
    ToIntFunction<String[]> target() {
      return io.disagg.loadtest.LoadTestMain::run;
    }
  }

  @Command(name = "bench", description = "Benchmarks: engine, kv-transfer.")
  public static final class Bench implements Callable<Integer> {
    @Parameters(index = "0", description = "engine or kv-transfer")
    String which;

    @Unmatched List<String> args = new java.util.ArrayList<>();

    @Override
    public Integer call() throws Exception {
      String[] rest = args.toArray(String[]::new);
      switch (which) {
        case "engine" -> io.disagg.backend.java.bench.EngineBenchmark.main(rest);
        case "kv-transfer" -> io.disagg.kv.bench.KvTransferBenchmark.main(rest);
        case "simulated" -> io.disagg.backend.simulated.bench.SimulatedBenchmark.main(rest);
        default -> {
          System.err.println("disagg bench: " + which + " (expected: engine or kv-transfer)");
          return 2;
        }
      }
      return 0;
    }
  }
}
