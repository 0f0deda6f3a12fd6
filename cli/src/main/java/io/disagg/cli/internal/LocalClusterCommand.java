package io.disagg.cli.internal;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code disagg local}: the whole system on this machine — decode workers, prefill workers and the router as separate
 * JVM processes on loopback ports the OS picks. Each process's output is prefixed with its name; Ctrl-C, or any
 * process dying, stops them all.
 */
@Command(name = "local", mixinStandardHelpOptions = true,
    description = {"Runs router + prefill workers + decode workers as separate processes on loopback.",
        "Stops everything on Ctrl-C or when any process exits."})
public final class LocalClusterCommand implements Callable<Integer> {
  private static final Pattern READY = Pattern.compile("^disagg (\\S+) ready: (.*)$");
  private static final PrintStream OUT = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true,
      StandardCharsets.UTF_8);

  @Spec CommandSpec spec;

  @Option(names = "--model", description = "GGUF model file (default: the embedded stories260K).")
  Path model;

  @Option(names = "--prefill-workers", defaultValue = "1", description = "Prefill worker processes (default: ${DEFAULT-VALUE}).")
  int prefillWorkers;

  @Option(names = "--decode-workers", defaultValue = "1", description = "Decode worker processes (default: ${DEFAULT-VALUE}).")
  int decodeWorkers;

  @Option(names = "--threads", defaultValue = "1", description = "Compute threads per worker (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--backend", defaultValue = "java", description = "Backend of every worker: java or llamacpp "
      + "(default: ${DEFAULT-VALUE}); options through --worker-arg=--backend-option=llamacpp.KEY=VALUE.")
  String backend;

  @Option(names = "--grpc-port", defaultValue = "0", description = "Router gRPC port; 0 = any free port (default: ${DEFAULT-VALUE}).")
  int grpcPort;

  @Option(names = "--http-port", defaultValue = "0", description = "Router OpenAI HTTP port; 0 = any free port (default: ${DEFAULT-VALUE}).")
  int httpPort;

  @Option(names = "--startup-timeout", defaultValue = "PT120S", description = "How long each process may take to become ready (default: ${DEFAULT-VALUE}).")
  Duration startupTimeout;

  @Option(names = "--kv-unix-sockets", description = "Decode workers serve kv-transfer on Unix sockets in a temporary "
      + "directory (the same-host fast path) instead of loopback TCP.")
  boolean kvUnixSockets;

  @Option(names = "--worker-arg", description = "Extra argument passed to every worker (repeatable), e.g. --worker-arg=--kv-blocks=4096.")
  List<String> workerArgs = new ArrayList<>();

  @Option(names = "--router-arg", description = "Extra argument passed to the router (repeatable).")
  List<String> routerArgs = new ArrayList<>();

  private final List<Process> processes = new CopyOnWriteArrayList<>();
  private volatile boolean stopping;
  /** Where decode workers' kv-transfer sockets live with {@code --kv-unix-sockets}; removed on stop. */
  private volatile Path socketDir;

  @Override
  public Integer call() throws Exception {
    if (prefillWorkers < 0 || decodeWorkers < 1) {
      throw new ParameterException(spec.commandLine(),
          "--decode-workers: " + decodeWorkers + " (expected: >= 1), --prefill-workers: " + prefillWorkers + " (expected: >= 0)");
    }
    Path modelPath = (model != null ? model : DefaultModel.path()).toAbsolutePath();
    // One random secret per cluster authenticates kv-transfer peers; children get it through the environment so it
    // never shows in a process listing.
    String secret = HexFormat.of().formatHex(new SecureRandom().generateSeed(32));
    Runtime.getRuntime().addShutdownHook(new Thread(this::stopAll, "disagg-local-shutdown"));
    try {
      List<String> decodeAddresses = new ArrayList<>();
      if (kvUnixSockets) {
        // Short and private: a Unix socket path is limited to about 100 bytes, and only this user's workers connect.
        socketDir = Files.createTempDirectory("disagg-local-",
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      }
      for (int i = 0; i < decodeWorkers; i++) {
        List<String> kvListen = kvUnixSockets
            ? List.of("--kv-unix-socket", socketDir.resolve("decode-" + i + ".sock").toString())
            : List.of("--kv-port", "0");
        List<String> args = new ArrayList<>(List.of("--model", modelPath.toString(), "--worker-id", "decode-" + i,
            "--grpc-port", "0", "--threads", Integer.toString(threads), "--backend", backend));
        args.addAll(kvListen);
        Map<String, String> ready = start("decode-" + i, secret, "decode-worker", withWorkerArgs(
            args.toArray(String[]::new)));
        decodeAddresses.add(ready.get("grpc"));
      }
      List<String> prefillAddresses = new ArrayList<>();
      for (int i = 0; i < prefillWorkers; i++) {
        Map<String, String> ready = start("prefill-" + i, secret, "prefill-worker", withWorkerArgs(
            "--model", modelPath.toString(), "--worker-id", "prefill-" + i, "--grpc-port", "0",
            "--threads", Integer.toString(threads), "--backend", backend));
        prefillAddresses.add(ready.get("grpc"));
      }
      List<String> router = new ArrayList<>(List.of("--model", modelPath.toString(),
          "--grpc-port", Integer.toString(grpcPort), "--http-port", Integer.toString(httpPort)));
      for (String address : decodeAddresses) {
        router.add("--decode");
        router.add(address);
      }
      for (String address : prefillAddresses) {
        router.add("--prefill");
        router.add(address);
      }
      router.addAll(routerArgs);
      Map<String, String> routerReady = start("router", secret, "router", router);
      OUT.println();
      OUT.println("Disagg is running (" + decodeWorkers + " decode, " + prefillWorkers + " prefill worker(s), model "
          + modelPath.getFileName() + ")");
      OUT.println("  gRPC:   " + routerReady.get("grpc") + "    try: ./disagg complete --router "
          + routerReady.get("grpc") + " --prompt \"Once upon a time\"");
      if (routerReady.containsKey("http")) {
        OUT.println("  OpenAI: http://" + routerReady.get("http") + "/v1    try: curl http://"
            + routerReady.get("http") + "/v1/completions -H 'Content-Type: application/json' "
            + "-d '{\"model\":\"stories260K\",\"prompt\":\"Once upon a time\",\"max_tokens\":32}'");
      }
      OUT.println("Press Ctrl-C to stop.");
      // Any process exiting ends the cluster: a half-running system is worse than none.
      CompletableFuture<?>[] exits = processes.stream().map(Process::onExit).toArray(CompletableFuture[]::new);
      CompletableFuture.anyOf(exits).join();
      if (!stopping) {
        OUT.println("disagg local: a process exited; stopping the others");
      }
      return 1;
    } catch (StartupException e) {
      System.err.println("disagg local: " + e.getMessage());
      return 1;
    } finally {
      stopAll();
    }
  }

  private List<String> withWorkerArgs(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(workerArgs);
    return all;
  }

  private Map<String, String> start(String name, String secret, String component, List<String> args)
      throws IOException, InterruptedException, StartupException {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(io.disagg.cli.Main.class.getName());
    command.add(component);
    command.addAll(args);
    ProcessBuilder builder = new ProcessBuilder(command);
    builder.environment().put("DISAGG_KV_SECRET", secret);
    Process process = builder.start();
    processes.add(process);
    CompletableFuture<Map<String, String>> ready = new CompletableFuture<>();
    pump(name, process.getInputStream(), ready);
    pump(name, process.getErrorStream(), null);
    process.onExit().thenRun(() -> ready.completeExceptionally(
        new StartupException(name + " exited with code " + process.exitValue() + " before it was ready")));
    try {
      return ready.get(startupTimeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new StartupException(name + " did not become ready within " + startupTimeout);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof StartupException s ? s : new StartupException(name + ": " + e.getCause());
    }
  }

  /** Copies a child's output line by line with its name in front, and spots its ready line. */
  private static void pump(String name, InputStream stream, CompletableFuture<Map<String, String>> ready) {
    Thread.ofPlatform().daemon().name("disagg-local-" + name).start(() -> {
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          OUT.println(String.format("%-10s| %s", name, line));
          if (ready != null && !ready.isDone()) {
            Matcher m = READY.matcher(line.strip());
            if (m.matches()) {
              ready.complete(parseAddresses(m.group(2)));
            }
          }
        }
      } catch (IOException e) {
        // the process is gone; its exit is reported through onExit
      }
    });
  }

  static Map<String, String> parseAddresses(String text) {
    Map<String, String> addresses = new java.util.LinkedHashMap<>();
    for (String part : text.trim().split("\\s+")) {
      int eq = part.indexOf('=');
      if (eq > 0) {
        addresses.put(part.substring(0, eq), part.substring(eq + 1));
      }
    }
    return addresses;
  }

  private void stopAll() {
    stopping = true;
    for (Process p : processes) {
      p.destroy();
    }
    for (Process p : processes) {
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    Path dir = socketDir;
    if (dir != null) {
      socketDir = null;
      try (var sockets = Files.list(dir)) {
        for (Path socket : (Iterable<Path>) sockets::iterator) {
          Files.deleteIfExists(socket);
        }
        Files.deleteIfExists(dir);
      } catch (IOException e) {
        // Best effort: a leftover directory in the temp folder holds nothing but dead sockets.
      }
    }
  }

  private static final class StartupException extends Exception {
    private static final long serialVersionUID = 1L;

    StartupException(String message) {
      super(message);
    }
  }
}
