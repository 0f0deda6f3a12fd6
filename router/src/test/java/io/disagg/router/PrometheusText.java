package io.disagg.router;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A strict parser of the Prometheus text exposition format (0.0.4), for tests: every line must be a well-formed
 * {@code # HELP}, {@code # TYPE} or sample line, label values must be properly quoted and escaped, values must parse,
 * and a sample must belong to the family of the last {@code # TYPE} line. Anything else throws.
 */
final class PrometheusText {
  private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
  private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
  private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");

  /** One sample line. */
  record Sample(String name, Map<String, String> labels, double value) {}

  final Map<String, String> types = new LinkedHashMap<>();
  final List<Sample> samples = new ArrayList<>();

  static PrometheusText parse(String text) {
    PrometheusText out = new PrometheusText();
    String family = null;
    int lineNo = 0;
    for (String line : text.split("\n", -1)) {
      lineNo++;
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("# HELP ")) {
        String[] parts = line.substring(7).split(" ", 2);
        requireName(parts[0], lineNo);
      } else if (line.startsWith("# TYPE ")) {
        String[] parts = line.substring(7).split(" ");
        if (parts.length != 2 || !TYPES.contains(parts[1])) {
          throw new IllegalArgumentException("line " + lineNo + ": bad TYPE line: " + line);
        }
        requireName(parts[0], lineNo);
        if (out.types.put(parts[0], parts[1]) != null) {
          throw new IllegalArgumentException("line " + lineNo + ": family declared twice: " + parts[0]);
        }
        family = parts[0];
      } else if (line.startsWith("#")) {
        continue; // other comments are allowed by the format
      } else {
        Sample s = sample(line, lineNo);
        if (family == null || !s.name().startsWith(family)) {
          throw new IllegalArgumentException("line " + lineNo + ": sample outside its family: " + line);
        }
        out.samples.add(s);
      }
    }
    return out;
  }

  private static Sample sample(String line, int lineNo) {
    Matcher m = NAME.matcher(line);
    if (!m.lookingAt()) {
      throw new IllegalArgumentException("line " + lineNo + ": no metric name: " + line);
    }
    String name = m.group();
    int i = m.end();
    Map<String, String> labels = new LinkedHashMap<>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        Matcher l = LABEL_NAME.matcher(line).region(i, line.length());
        if (!l.lookingAt() || line.charAt(l.end()) != '=' || line.charAt(l.end() + 1) != '"') {
          throw new IllegalArgumentException("line " + lineNo + ": bad label at " + i + ": " + line);
        }
        String label = l.group();
        i = l.end() + 2;
        StringBuilder value = new StringBuilder();
        while (line.charAt(i) != '"') {
          char c = line.charAt(i);
          if (c == '\\') {
            char next = line.charAt(i + 1);
            value.append(switch (next) {
              case 'n' -> '\n';
              case '\\' -> '\\';
              case '"' -> '"';
              default -> throw new IllegalArgumentException("line " + lineNo + ": bad escape: " + line);
            });
            i += 2;
          } else {
            value.append(c);
            i++;
          }
        }
        i++;
        if (labels.put(label, value.toString()) != null) {
          throw new IllegalArgumentException("line " + lineNo + ": label twice: " + line);
        }
        if (line.charAt(i) == ',') {
          i++;
        } else if (line.charAt(i) != '}') {
          throw new IllegalArgumentException("line " + lineNo + ": expected , or }: " + line);
        }
      }
      i++;
    }
    if (i >= line.length() || line.charAt(i) != ' ') {
      throw new IllegalArgumentException("line " + lineNo + ": expected a space before the value: " + line);
    }
    String[] rest = line.substring(i + 1).split(" ");
    if (rest.length < 1 || rest.length > 2) {
      throw new IllegalArgumentException("line " + lineNo + ": expected value [timestamp]: " + line);
    }
    double value = switch (rest[0]) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(rest[0]);
    };
    if (rest.length == 2) {
      Long.parseLong(rest[1]);
    }
    return new Sample(name, labels, value);
  }

  private static void requireName(String name, int lineNo) {
    if (!NAME.matcher(name).matches()) {
      throw new IllegalArgumentException("line " + lineNo + ": bad metric name: " + name);
    }
  }

  /** Every sample name, sorted. */
  Set<String> sampleNames() {
    Set<String> names = new TreeSet<>();
    samples.forEach(s -> names.add(s.name()));
    return names;
  }

  /** Whether a documented meter is exposed: as a sample name, or as a histogram's family. */
  boolean exposes(String name) {
    return sampleNames().contains(name) || "histogram".equals(types.get(name));
  }

  /** Samples of {@code name} whose labels include all of {@code labels}. */
  List<Sample> find(String name, Map<String, String> labels) {
    return samples.stream()
        .filter(s -> s.name().equals(name) && s.labels().entrySet().containsAll(labels.entrySet()))
        .toList();
  }
}
