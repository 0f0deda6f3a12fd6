/**
 * The simulated accelerator backend: a backend (SPI {@code BackendProvider} named {@code simulated}) whose step times
 * follow a roofline model of a hardware profile, so that the router and workers can meet hardware this machine does
 * not have. It is named a simulator everywhere, and its tokens are meaningless.
 *
 * <p>Starting points:
 * <ul>
 *   <li>{@link io.disagg.backend.simulated.SimulatedBackendProvider} — what {@code --backend simulated} opens;
 *   <li>{@link io.disagg.backend.simulated.SimulatedOptions} — the {@code simulated.*} backend options;
 *   <li>{@link io.disagg.backend.simulated.HardwareProfile} — profiles with their cited sources;
 *   <li>{@link io.disagg.backend.simulated.ModelShape} and {@link io.disagg.backend.simulated.Roofline} — the model.
 * </ul>
 *
 * <p>Owns the profiles in its resources. Must not touch transports, workers or the router: it depends on the backend
 * SPI and the GGUF reader only.
 */
package io.disagg.backend.simulated;
