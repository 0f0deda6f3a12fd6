package io.disagg.backend.simulated;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The numbers of one simulated accelerator, read from a plain {@code .properties} file in which every number has a
 * {@code <key>.source} line saying where it comes from (a public datasheet, a measurement, or an explicitly stated
 * assumption). A profile without a source for a number is refused: the simulator is only as honest as its inputs.
 *
 * <p>Built-in profiles ({@link #BUILT_IN}) live in this module's resources under
 * {@code io/disagg/backend/simulated/profiles/}; {@link #load(String)} also takes a path to a file of the same form.
 *
 * @param name short name, e.g. {@code h100}
 * @param description one line, e.g. {@code H100-like (NVIDIA H100 SXM5 80 GB, one GPU)}
 * @param peakFlops dense 16-bit matrix FLOP/s of one device
 * @param memoryBandwidth bytes/s between the memory holding weights and KV and the compute units
 * @param memoryCapacity bytes of that memory (weights plus KV must fit)
 * @param peerBandwidth bytes/s of the link that carries KV caches to other workers (the scale-out network)
 * @param peerLatencySeconds one-way latency of that link
 * @param groupBandwidth bytes/s per device of the link between devices of one tensor-parallel group
 * @param groupLatencySeconds latency of one collective step on that link
 * @param sources every key's {@code .source} text, by key
 */
public record HardwareProfile(
    String name,
    String description,
    double peakFlops,
    double memoryBandwidth,
    double memoryCapacity,
    double peerBandwidth,
    double peerLatencySeconds,
    double groupBandwidth,
    double groupLatencySeconds,
    Map<String, String> sources) {

  /** The profiles shipped with the backend. */
  public static final List<String> BUILT_IN = List.of("h100", "trn2", "cs3", "groq-lpu", "cpu");

  /** The numeric keys a profile file must have, each with a {@code .source}. */
  public static final List<String> KEYS = List.of("peak_flops", "memory_bandwidth", "memory_capacity",
      "peer_bandwidth", "peer_latency", "group_bandwidth", "group_latency");

  private static final String RESOURCE_DIR = "/io/disagg/backend/simulated/profiles/";

  public HardwareProfile {
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(description, "description");
    positive("peak_flops", peakFlops);
    positive("memory_bandwidth", memoryBandwidth);
    positive("memory_capacity", memoryCapacity);
    positive("peer_bandwidth", peerBandwidth);
    nonNegative("peer_latency", peerLatencySeconds);
    positive("group_bandwidth", groupBandwidth);
    nonNegative("group_latency", groupLatencySeconds);
    sources = Map.copyOf(sources);
  }

  /**
   * A built-in profile by name ({@link #BUILT_IN}) or a profile file by path.
   *
   * @throws IllegalArgumentException naming the built-in profiles when {@code nameOrPath} is neither, or saying which
   *     key or source is missing or malformed
   */
  public static HardwareProfile load(String nameOrPath) {
    Objects.requireNonNull(nameOrPath, "nameOrPath");
    String key = nameOrPath.strip();
    if (BUILT_IN.contains(key)) {
      try (InputStream in = HardwareProfile.class.getResourceAsStream(RESOURCE_DIR + key + ".properties")) {
        if (in == null) {
          throw new IllegalStateException("built-in profile " + key + " missing from the class path");
        }
        return parse(key, new String(in.readAllBytes(), StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    Path path = Path.of(key);
    if (!Files.isRegularFile(path)) {
      throw new IllegalArgumentException("profile: " + key + " (expected: one of " + BUILT_IN
          + " or a readable .properties file)");
    }
    try {
      return parse(path.toString(), Files.readString(path));
    } catch (IOException e) {
      throw new IllegalArgumentException("profile: " + key + ": " + e.getMessage(), e);
    }
  }

  /**
   * Parses profile text ({@code java.util.Properties} syntax).
   *
   * @param origin named in error messages
   * @throws IllegalArgumentException when a key, its source, or {@code name}/{@code description} is missing, or a
   *     number is malformed or out of range
   */
  public static HardwareProfile parse(String origin, String text) {
    Properties p = new Properties();
    try (Reader r = new java.io.StringReader(text)) {
      p.load(r);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Map<String, String> sources = new TreeMap<>();
    double[] v = new double[KEYS.size()];
    for (int i = 0; i < KEYS.size(); i++) {
      String k = KEYS.get(i);
      String raw = required(origin, p, k);
      try {
        v[i] = Double.parseDouble(raw.strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(origin + ": " + k + "=" + raw + " (expected: a number, e.g. 3.35e12)", e);
      }
      String source = required(origin, p, k + ".source");
      if (source.isBlank()) {
        throw new IllegalArgumentException(origin + ": " + k + ".source is empty (expected: where the number comes "
            + "from)");
      }
      sources.put(k, source.strip());
    }
    try {
      return new HardwareProfile(required(origin, p, "name").strip(), required(origin, p, "description").strip(),
          v[0], v[1], v[2], v[3], v[4], v[5], v[6], sources);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(origin + ": " + e.getMessage(), e);
    }
  }

  private static String required(String origin, Properties p, String key) {
    String value = p.getProperty(key);
    if (value == null) {
      throw new IllegalArgumentException(origin + ": missing key " + key);
    }
    return value;
  }

  private static void positive(String key, double value) {
    if (!(value > 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(key + ": " + value + " (expected: a finite number > 0)");
    }
  }

  private static void nonNegative(String key, double value) {
    if (!(value >= 0) || Double.isInfinite(value)) {
      throw new IllegalArgumentException(key + ": " + value + " (expected: a finite number >= 0)");
    }
  }
}
