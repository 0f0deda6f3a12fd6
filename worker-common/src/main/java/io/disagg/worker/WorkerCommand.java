package io.disagg.worker;

import io.disagg.backend.spi.Backend;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The base of a worker's picocli command: the flags every worker has ({@link WorkerOptions}), the command spec, and
 * the stop latch of in-process callers. The worker's {@code call()} opens its backend, builds and starts its server
 * and hands it to {@link #serve}. Run one through {@link WorkerCli#execute}.
 */
public abstract class WorkerCommand implements Callable<Integer> {
  @Mixin
  private WorkerOptions options;

  @Spec
  private CommandSpec spec;

  private final CountDownLatch stop;

  /** @param stop counted down by in-process callers to stop the worker; null: run until SIGTERM */
  protected WorkerCommand(CountDownLatch stop) {
    this.stop = stop;
  }

  /**
   * --model, --backend, --backend-option, --host, --grpc-port, --metrics-port, --kv-secret, --kv-tls-cert,
   * --kv-tls-key, --kv-tls-trust, --threads, --kv-blocks, --block-tokens and --config.
   */
  protected final WorkerOptions options() {
    return options;
  }

  protected final CommandSpec spec() {
    return spec;
  }

  /**
   * Runs {@code configure} (the server builder's setters) on the just opened {@code backend}; an invalid setting
   * closes the backend and becomes a usage error. See {@link WorkerCli#configure}.
   */
  protected final <T> T configure(Backend backend, Supplier<T> configure) {
    return WorkerCli.configure(backend, spec, configure);
  }

  /**
   * Prints the started {@code server}'s ready line and serves until SIGTERM or the stop latch; then drains, waits up
   * to {@code drainTimeout} and closes it. See {@link WorkerCli#serve}.
   */
  protected final int serve(WorkerServer server, Duration drainTimeout, String leftWhenTimedOut)
      throws InterruptedException {
    return WorkerCli.serve(spec, Objects.requireNonNull(server, "server"), drainTimeout, leftWhenTimedOut, stop);
  }
}
