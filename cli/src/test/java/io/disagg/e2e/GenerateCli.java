package io.disagg.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs {@code disagg generate --json} (the in-process reference: no router, no workers) as its own JVM and parses its
 * one JSON line. A separate process because the command writes to the stdout file descriptor, not
 * {@code System.out}.
 */
final class GenerateCli {
  private GenerateCli() {}

  /** What {@code generate --json} printed. */
  record Output(List<Integer> promptIds, List<Integer> ids, String text) {}

  static Output greedy(String prompt, int maxTokens) throws InterruptedException {
    ChildJvm cli = ChildJvm.start("generate", null, "io.disagg.cli.Main", List.of("generate", "--model",
        LocalCluster.model().toString(), "--prompt", prompt, "--max-tokens", Integer.toString(maxTokens),
        "--temperature", "0", "--json"), Map.of());
    try {
      int code = cli.awaitExit(Duration.ofSeconds(60));
      if (code != 0) {
        throw new IllegalStateException("disagg generate exited with " + code + ":\n" + cli.output());
      }
      return parse(lastJsonLine(cli));
    } finally {
      cli.close();
    }
  }

  static JsonNode lastJsonLine(ChildJvm process) {
    String json = null;
    for (String line : process.stdout().split("\n")) {
      if (line.startsWith("{")) {
        json = line;
      }
    }
    if (json == null) {
      throw new IllegalStateException(process.name() + " printed no JSON line:\n" + process.output());
    }
    try {
      return new ObjectMapper().readTree(json);
    } catch (java.io.IOException e) {
      throw new IllegalStateException(process.name() + " printed invalid JSON: " + json, e);
    }
  }

  private static Output parse(JsonNode node) {
    return new Output(ints(node.path("prompt_ids")), ints(node.path("ids")), node.path("text").asText());
  }

  static List<Integer> ints(JsonNode array) {
    List<Integer> values = new ArrayList<>();
    array.forEach(v -> values.add(v.asInt()));
    return values;
  }
}
