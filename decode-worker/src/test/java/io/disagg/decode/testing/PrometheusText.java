package io.disagg.decode.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict reader of the Prometheus text exposition format (0.0.4), for tests that scrape a worker's
 * {@code /metrics}. Every line must be a {@code # HELP}, a {@code # TYPE} or a sample {@code name{labels} value};
 * label values must be quoted and escaped; a family is typed once, before its samples, and a sample's name must be
 * its family's name plus a suffix its type allows ({@code _bucket} with an {@code le} label for histograms). Anything
 * else throws {@link IllegalArgumentException} naming the line.
 */
public final class PrometheusText {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"");
  private static final Pattern VALUE = Pattern.compile("[-+]?(?:[0-9]*\\.?[0-9]+(?:[eE][-+]?[0-9]+)?|Inf|NaN)");
  private static final Map<String, Set<String>> SUFFIXES = Map.of(
      "counter", Set.of("", "_total", "_created"),
      "gauge", Set.of(""),
      "histogram", Set.of("_bucket", "_count", "_sum", "_created"),
      "summary", Set.of("", "_count", "_sum", "_created"),
      "untyped", Set.of(""));

  /** One sample line. */
  public record Sample(String name, Map<String, String> labels, double value) {}

  private final Map<String, String> types = new LinkedHashMap<>();
  private final List<Sample> samples = new ArrayList<>();

  private PrometheusText() {}

  /** GETs {@code http://address/metrics}, checks the status and content type, and parses the body. */
  public static PrometheusText scrape(String address) throws IOException, InterruptedException {
    try (HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
      HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create("http://" + address + "/metrics"))
          .timeout(Duration.ofSeconds(10)).GET().build(), HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new IllegalArgumentException("GET /metrics: HTTP " + response.statusCode());
      }
      String type = response.headers().firstValue("Content-Type").orElse("");
      if (!type.startsWith("text/plain") || !type.contains("version=0.0.4")) {
        throw new IllegalArgumentException("GET /metrics: Content-Type " + type + " (expected: text/plain 0.0.4)");
      }
      return parse(response.body());
    }
  }

  /** Parses {@code text}, failing on the first line that is not well formed. */
  public static PrometheusText parse(String text) {
    PrometheusText out = new PrometheusText();
    String family = null;
    String[] lines = text.split("\n", -1);
    if (!lines[lines.length - 1].isEmpty()) {
      throw new IllegalArgumentException("the last line does not end with a newline");
    }
    for (int n = 0; n < lines.length - 1; n++) {
      String line = lines[n];
      String where = "line " + (n + 1) + ": " + line;
      if (line.startsWith("# HELP ")) {
        String name = line.substring(7).split(" ", 2)[0];
        require(NAME.matcher(name).matches(), "bad HELP name", where);
      } else if (line.startsWith("# TYPE ")) {
        String[] parts = line.substring(7).split(" ");
        require(parts.length == 2 && NAME.matcher(parts[0]).matches() && SUFFIXES.containsKey(parts[1]),
            "bad TYPE line", where);
        require(out.types.put(parts[0], parts[1]) == null, "family typed twice", where);
        family = parts[0];
      } else if (line.startsWith("#")) {
        continue; // free comments are part of the format
      } else {
        require(family != null, "sample before any TYPE line", where);
        Sample s = sample(line, where);
        require(s.name().startsWith(family)
            && SUFFIXES.get(out.types.get(family)).contains(s.name().substring(family.length())),
            "sample outside its family " + family, where);
        require(!s.name().endsWith("_bucket") || s.labels().containsKey("le"), "bucket without le", where);
        out.samples.add(s);
      }
    }
    return out;
  }

  private static Sample sample(String line, String where) {
    Matcher name = NAME.matcher(line);
    require(name.lookingAt(), "no metric name", where);
    int i = name.end();
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        Matcher label = LABEL.matcher(line).region(i, line.length());
        require(label.lookingAt(), "bad label", where);
        String value = label.group(2).replace("\\n", "\n").replace("\\\"", "\"").replace("\\\\", "\\");
        require(labels.put(label.group(1), value) == null, "label repeated", where);
        i = label.end();
        if (line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    require(i < line.length() && line.charAt(i) == ' ', "no space before the value", where);
    String[] rest = line.substring(i + 1).split(" ");
    require(rest.length <= 2 && VALUE.matcher(rest[0]).matches(), "bad value", where);
    require(rest.length == 1 || rest[1].matches("-?[0-9]+"), "bad timestamp", where);
    double value = switch (rest[0]) {
      case "+Inf", "Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      default -> Double.parseDouble(rest[0]);
    };
    return new Sample(name.group(), Map.copyOf(labels), value);
  }

  private static void require(boolean ok, String what, String where) {
    if (!ok) {
      throw new IllegalArgumentException(what + ": " + where);
    }
  }

  /** Family name → type, from the {@code # TYPE} lines. */
  public Map<String, String> types() {
    return Map.copyOf(types);
  }

  public List<Sample> samples() {
    return List.copyOf(samples);
  }

  /** The one sample named {@code name} whose labels include {@code labels}; throws unless there is exactly one. */
  public double value(String name, Map<String, String> labels) {
    List<Sample> found = samples.stream()
        .filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
        .toList();
    if (found.size() != 1) {
      throw new IllegalArgumentException(found.size() + " samples " + name + labels + " (expected: 1)");
    }
    return found.getFirst().value();
  }

  /** Whether some sample is named {@code name}. */
  public boolean has(String name) {
    return samples.stream().anyMatch(s -> s.name().equals(name));
  }
}
