package io.disagg.router;

/**
 * Decides, per request, whether it is served disaggregated or colocated. The router calls it once per request (unless
 * the client forced a mode) from a gRPC thread: implementations must be thread-safe and must not block.
 *
 * <p>A classifier returning {@code DISAGGREGATED} while {@link ClassifierInput#prefillWorkers()} is empty is
 * overridden by the router to colocated with reason {@link ServeReasons#NO_PREFILL_WORKER}.
 *
 * @see CostModelClassifier the default policy
 * @see ThresholdClassifier the prompt-length rule
 */
@FunctionalInterface
public interface ServeModeClassifier {

  ServeDecision classify(ClassifierInput input);
}
