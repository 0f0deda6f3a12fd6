package io.disagg.backend.simulated;

import io.disagg.backend.spi.BackendConfig;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The {@code simulated.*} options of a {@link BackendConfig} (given on command lines as
 * {@code --backend-option simulated.profile=cs3}), parsed and checked.
 *
 * @param profile {@value #PROFILE}: a built-in profile name or a profile file (default {@code h100})
 * @param shape {@value #SHAPE}: a shape spec ({@link ModelShape#fromSpec}); when present the model file is not read
 * @param devices {@value #DEVICES}: devices in the tensor-parallel group one backend stands for (default 1)
 * @param kvPayload {@value #KV_PAYLOAD}: whether the KV pool holds the full-shape bytes or virtual ones
 * @param realKvLimitBytes {@value #REAL_KV_LIMIT_MIB}: largest full-shape pool {@code auto} still allocates
 *     (default 256 MiB)
 * @param timeScale {@value #TIME_SCALE}: multiplies every simulated duration (default 1; 0 does not wait at all)
 */
public record SimulatedOptions(String profile, Optional<String> shape, int devices, KvPayload kvPayload,
    long realKvLimitBytes, double timeScale) {

  public static final String PROFILE = "simulated.profile";
  public static final String SHAPE = "simulated.shape";
  public static final String DEVICES = "simulated.devices";
  public static final String KV_PAYLOAD = "simulated.kv-payload";
  public static final String REAL_KV_LIMIT_MIB = "simulated.real-kv-limit-mib";
  public static final String TIME_SCALE = "simulated.time-scale";

  /** Every option, in the order error messages name them. */
  public static final List<String> ALL = List.of(PROFILE, SHAPE, DEVICES, KV_PAYLOAD, REAL_KV_LIMIT_MIB, TIME_SCALE);

  /** What the KV pool's blocks hold. */
  public enum KvPayload {
    /** Full-shape bytes when the pool fits within {@link #realKvLimitBytes()}, virtual ones otherwise. */
    AUTO,
    /** Blocks of the model's real KV layout (16-bit keys and values of every KV head). */
    REAL,
    /** Blocks of a compact layout that holds the simulator's state only; the full size is a number, not bytes. */
    VIRTUAL
  }

  public SimulatedOptions {
    if (devices <= 0) {
      throw new IllegalArgumentException(DEVICES + ": " + devices + " (expected: an integer > 0)");
    }
    if (realKvLimitBytes <= 0) {
      throw new IllegalArgumentException(REAL_KV_LIMIT_MIB + ": " + realKvLimitBytes + " (expected: > 0)");
    }
    if (!(timeScale >= 0) || Double.isInfinite(timeScale)) {
      throw new IllegalArgumentException(TIME_SCALE + ": " + timeScale + " (expected: a finite number >= 0)");
    }
  }

  /**
   * Reads the {@code simulated.*} options; other prefixes belong to other backends and are ignored.
   *
   * @throws IllegalArgumentException for an unknown {@code simulated.*} key or a malformed value
   */
  public static SimulatedOptions from(BackendConfig config) {
    Map<String, String> o = config.options();
    for (String key : o.keySet()) {
      if (key.startsWith("simulated.") && !ALL.contains(key)) {
        throw new IllegalArgumentException("option " + key + ": unknown (expected: one of " + ALL + ")");
      }
    }
    String profile = o.getOrDefault(PROFILE, "h100").strip();
    Optional<String> shape = Optional.ofNullable(o.get(SHAPE)).map(String::strip).filter(s -> !s.isEmpty());
    int devices = parseInt(DEVICES, o.getOrDefault(DEVICES, "1"));
    String payload = o.getOrDefault(KV_PAYLOAD, "auto").strip();
    KvPayload kvPayload = switch (payload.toLowerCase(Locale.ROOT)) {
      case "auto" -> KvPayload.AUTO;
      case "real" -> KvPayload.REAL;
      case "virtual" -> KvPayload.VIRTUAL;
      default -> throw new IllegalArgumentException(KV_PAYLOAD + ": " + payload + " (expected: auto, real or virtual)");
    };
    long limit = parseInt(REAL_KV_LIMIT_MIB, o.getOrDefault(REAL_KV_LIMIT_MIB, "256")) * (1L << 20);
    String scale = o.getOrDefault(TIME_SCALE, "1").strip();
    double timeScale;
    try {
      timeScale = Double.parseDouble(scale);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(TIME_SCALE + ": " + scale + " (expected: a finite number >= 0)", e);
    }
    return new SimulatedOptions(profile, shape, devices, kvPayload, limit, timeScale);
  }

  private static int parseInt(String key, String value) {
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": " + value + " (expected: an integer > 0)", e);
    }
  }
}
