package io.disagg.openai;

/** Stops one generation started by {@link InferenceService#generate}. */
@FunctionalInterface
public interface Cancellable {
  /**
   * Stops the generation on every worker and frees its KV blocks. Idempotent, callable from any thread, and harmless
   * after the generation already finished. The observer may still see a terminal event after this returns.
   */
  void cancel();
}
