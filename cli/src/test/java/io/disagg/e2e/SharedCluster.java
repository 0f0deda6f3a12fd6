package io.disagg.e2e;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One {@link LocalCluster} shared by every test class that extends with this: one prefill worker
 * ({@value #PREFILL}), one decode worker ({@value #DECODE}) and a router (gRPC and OpenAI HTTP) whose policy
 * disaggregates exactly the prompts of at least {@value #THRESHOLD} tokens. Started on first use (bounded by
 * {@link LocalCluster#STARTUP_TIMEOUT} per process) and kept in the root extension store, so JUnit stops all its
 * processes once, after the last test class; a class receives it as a {@code LocalCluster} parameter of its
 * {@code @BeforeAll} method.
 *
 * <p>Tests using it must leave it as they found it: no killed workers, no requests left running.
 */
final class SharedCluster implements BeforeAllCallback, ParameterResolver {
  static final String PREFILL = "prefill-0";
  static final String DECODE = "decode-0";
  static final int THRESHOLD = 32;

  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(SharedCluster.class);

  @Override
  public void beforeAll(ExtensionContext context) {
    cluster(context);
  }

  private static LocalCluster cluster(ExtensionContext context) {
    return context.getRoot().getStore(NS).getOrComputeIfAbsent("cluster", k -> LocalCluster.builder()
        .prefillWorker(PREFILL)
        .decodeWorker(DECODE)
        // the length threshold, not the cost model, so which requests are disaggregated does not depend on timing
        .routerArgs("--policy", "threshold", "--disaggregate-threshold", Integer.toString(THRESHOLD))
        .start(), LocalCluster.class);
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == LocalCluster.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return cluster(context);
  }
}
