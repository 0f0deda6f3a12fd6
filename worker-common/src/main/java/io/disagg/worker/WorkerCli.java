package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The command-line skeleton both workers share: parsing with {@link LayeredDefaults} (flag beats {@code DISAGG_*}
 * environment beats {@code --config} file), exit codes, and serving until SIGTERM or an in-process stop latch. Logs
 * go to the command class's logger, so they read as before the skeleton was shared.
 */
public final class WorkerCli {
  private WorkerCli() {}

  /** As {@link #execute(Object, Map, PrintWriter, PrintWriter, String...)} with the process's environment and streams. */
  public static int execute(Object command, String... args) {
    return execute(command, System.getenv(), new PrintWriter(System.out, true), new PrintWriter(System.err, true),
        args);
  }

  /** Exits the JVM with {@code code} unless it is 0 (then {@code main} returns and the JVM ends normally). */
  public static void exitOnFailure(int code) {
    if (code != 0) {
      System.exit(code);
    }
  }

  /**
   * Parses {@code args} into {@code command} and runs it. Returns its exit code; 2 (usage) for a bad flag or
   * {@code --config} file, 1 (software) with a one-line message on {@code err} when it fails to start.
   */
  public static int execute(Object command, Map<String, String> env, PrintWriter out, PrintWriter err,
      String... args) {
    Logger log = LoggerFactory.getLogger(command.getClass());
    CommandLine cl = new CommandLine(command).setOut(out).setErr(err);
    try {
      cl.setDefaultValueProvider(LayeredDefaults.from(args, env));
    } catch (IllegalArgumentException e) {
      err.println(e.getMessage());
      return CommandLine.ExitCode.USAGE;
    }
    cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
      if (e instanceof CommandLine.ParameterException) {
        err.println(e.getMessage());
        return CommandLine.ExitCode.USAGE;
      }
      // a model that cannot be opened, a port in use: say what, without a stack trace
      log.error("{} failed to start", cl.getCommandName(), e);
      err.println(cl.getCommandName() + ": " + e.getMessage());
      return CommandLine.ExitCode.SOFTWARE;
    });
    return cl.execute(args);
  }

  /**
   * Runs {@code configure} (a server builder's setters) on the just opened {@code backend}; an invalid setting closes
   * the backend and becomes a usage error.
   */
  public static <T> T configure(Backend backend, CommandSpec spec, Supplier<T> configure) {
    try {
      return configure.get();
    } catch (IllegalArgumentException e) {
      backend.close();
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage(), e);
    }
  }

  /**
   * Prints {@code server}'s ready line on the command's out, then serves until SIGTERM, or until {@code stop} is
   * counted down when it is not null (in-process callers). Either way it drains, waits up to {@code drainTimeout}
   * for the server to go idle, and closes it.
   *
   * @param leftWhenTimedOut what a timed-out drain leaves behind, for the log ({@code "prompts still queued"})
   * @return the exit code, 0
   */
  public static int serve(CommandSpec spec, WorkerServer server, Duration drainTimeout, String leftWhenTimedOut,
      CountDownLatch stop) throws InterruptedException {
    Logger log = LoggerFactory.getLogger(spec.userObject().getClass());
    Runnable shutdown = () -> {
      log.info("draining {} {}", spec.name().replace('-', ' '), server.workerId());
      server.drain();
      try {
        if (!server.awaitIdle(drainTimeout)) {
          log.warn("drain timed out after {} ms; closing with {}", drainTimeout.toMillis(), leftWhenTimedOut);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server.close();
    };
    CountDownLatch done = new CountDownLatch(1);
    Thread hook = Thread.ofPlatform().name(spec.name() + "-shutdown").unstarted(() -> {
      shutdown.run();
      done.countDown();
    });
    Runtime.getRuntime().addShutdownHook(hook);
    PrintWriter out = spec.commandLine().getOut();
    out.println(server.readyLine());
    out.flush();
    if (stop != null) {
      // in-process callers (tests) stop the worker by counting this latch down instead of SIGTERM
      stop.await();
      Runtime.getRuntime().removeShutdownHook(hook);
      shutdown.run();
      return 0;
    }
    done.await();
    return 0;
  }
}
