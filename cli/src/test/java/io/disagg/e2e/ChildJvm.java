package io.disagg.e2e;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One real JVM process started the way {@code disagg local} starts its components: the test JVM's own java binary and
 * JVM flags, its class path, a main class and arguments. Its stdout and stderr are echoed (prefixed with its name) to
 * this JVM's stdout, which surefire keeps in {@code target/surefire-reports/*-output.txt}, and the last lines are kept
 * for failure messages. {@link #awaitReady} waits, with a bound, for the {@code disagg <component> ready: k=v ...}
 * line.
 */
final class ChildJvm implements AutoCloseable {
  private static final Pattern READY = Pattern.compile("disagg (\\S+) ready: (.*)$");
  private static final int KEPT_LINES = 300;
  /** Processes still running; killed if the test JVM exits without closing them (e.g. Ctrl-C, a crash in a test). */
  private static final java.util.Set<Process> LIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> LIVE.forEach(p -> {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }), "e2e-child-reaper"));
  }

  private final String name;
  private final Process process;
  private final List<ProcessHandle> descendants = new ArrayList<>();
  private final Deque<String> lastLines = new ArrayDeque<>();
  private final StringBuilder stdout = new StringBuilder();
  private final List<String> leakReports = new ArrayList<>();
  private final CompletableFuture<Map<String, String>> ready = new CompletableFuture<>();
  private final String component;

  private ChildJvm(String name, String component, Process process) {
    this.name = name;
    this.component = component;
    this.process = process;
  }

  /**
   * Starts {@code java <this JVM's flags> -cp <this class path> mainClass args} with {@code env} added.
   *
   * @param component the component whose ready line to wait for ({@code router}, {@code decode-worker}, ...), or
   *     {@code null} when the process prints none
   */
  static ChildJvm start(String name, String component, String mainClass, List<String> args, Map<String, String> env) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    // Small heaps: up to seven JVMs share this machine. Inherited flags come after, so an explicit -Xmx there wins.
    command.add("-Xmx256m");
    for (String flag : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (!flag.startsWith("-agentlib:jdwp") && !flag.startsWith("-javaagent")) {
        command.add(flag);
      }
    }
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(mainClass);
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().putAll(env);
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
    LIVE.add(process);
    process.onExit().thenRun(() -> LIVE.remove(process));
    ChildJvm child = new ChildJvm(name, component, process);
    child.pump(process.getInputStream(), true);
    child.pump(process.getErrorStream(), false);
    process.onExit().thenRun(() -> child.ready.completeExceptionally(new IllegalStateException(
        name + " exited with code " + process.exitValue() + " before printing its ready line; last output:\n"
            + child.output())));
    return child;
  }

  private void pump(InputStream stream, boolean isStdout) {
    Thread.ofPlatform().daemon().name("e2e-" + name + (isStdout ? "-out" : "-err")).start(() -> {
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          System.out.println(String.format("%-14s| %s", name, line));
          synchronized (this) {
            lastLines.addLast(line);
            if (lastLines.size() > KEPT_LINES) {
              lastLines.removeFirst();
            }
            if (isStdout) {
              stdout.append(line).append('\n');
            }
            if (line.contains("LEAK:")) {
              leakReports.add(line);
            }
          }
          Matcher m = READY.matcher(line);
          if (component != null && !ready.isDone() && m.find() && m.group(1).equals(component)) {
            ready.complete(parseFields(m.group(2)));
          }
        }
      } catch (IOException e) {
        // the process is gone; its exit is reported through onExit
      }
    });
  }

  static Map<String, String> parseFields(String text) {
    Map<String, String> fields = new LinkedHashMap<>();
    for (String part : text.trim().split("\\s+")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        fields.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return fields;
  }

  /** Waits at most {@code timeout} for the ready line; fails with the process's output if it exits or times out. */
  Map<String, String> awaitReady(Duration timeout) {
    try {
      return ready.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          name + " printed no ready line within " + timeout + "; last output:\n" + output());
    } catch (ExecutionException e) {
      throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for " + name, e);
    }
  }

  /** The ready line's fields ({@code grpc}, {@code kv}, {@code http}); only after {@link #awaitReady}. */
  Map<String, String> readyFields() {
    return ready.join();
  }

  String name() {
    return name;
  }

  Process process() {
    return process;
  }

  /** The last lines of stdout and stderr, interleaved. */
  synchronized String output() {
    return String.join("\n", lastLines);
  }

  /** Lines in which Netty's leak detector reported a buffer that was never released. */
  synchronized List<String> leakReports() {
    return List.copyOf(leakReports);
  }

  /** Everything the process wrote to stdout so far. */
  synchronized String stdout() {
    return stdout.toString();
  }

  /** Waits, bounded, for the process to exit on its own and returns its exit code. */
  int awaitExit(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new IllegalStateException(name + " still running after " + timeout + "; last output:\n" + output());
    }
    // the pump threads may still be copying the last lines
    try {
      process.onExit().get(1, TimeUnit.SECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // exited already; nothing more to wait for
    }
    return process.exitValue();
  }

  /** Crashes the process (SIGKILL, no drain), as a machine failure would, and waits until it is gone. */
  void kill() {
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        throw new IllegalStateException(name + " survived SIGKILL for 10 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Asks the process to stop (SIGTERM: drain and close) without waiting. */
  void terminate() {
    synchronized (descendants) {
      descendants.addAll(process.descendants().toList());
    }
    process.destroy();
  }

  /** Stops the process: SIGTERM, then SIGKILL (itself and any children it started) after a bounded wait. */
  @Override
  public void close() {
    terminate();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    synchronized (descendants) {
      descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
  }
}
