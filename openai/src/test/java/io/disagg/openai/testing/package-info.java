/**
 * Reusable test kit for the OpenAI front end, published as the module's test-jar.
 *
 * <h2>Starting points</h2>
 * <ul>
 *   <li>{@link io.disagg.openai.testing.SimulatedInferenceService} — a named simulator of the router (not a model).</li>
 *   <li>{@link io.disagg.openai.testing.OpenAiSdkConformanceTest} — OpenAI SDK tests against any base URL; the router's
 *       tests extend it against a real cluster.</li>
 *   <li>{@link io.disagg.openai.testing.RawHttp} — a small raw HTTP client for malformed-input tests.</li>
 * </ul>
 */
package io.disagg.openai.testing;
