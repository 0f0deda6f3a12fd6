package io.disagg.cli.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.disagg.backend.spi.Backend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.BackendException;
import io.disagg.backend.spi.Backends;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.backend.spi.Sequence;
import io.disagg.backend.spi.Tokenizer;
import io.disagg.backend.spi.Utf8StreamDecoder;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** {@code disagg generate}: runs one prompt through a backend in this process and streams the text. */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    description = {
      "Generates text from a prompt in this process (no router, no workers).",
      "Text streams to stdout as tokens are produced; prefill and decode speed go to stderr."
    })
public final class GenerateCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(names = "--model", description = "GGUF model file (default: the embedded stories260K).")
  Path model;

  @Option(names = "--prompt", defaultValue = "", description = "Prompt text (default: empty, i.e. start from BOS).")
  String prompt;

  @Option(names = "--max-tokens", defaultValue = "256", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
  float temperature;

  @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling threshold (default: ${DEFAULT-VALUE}).")
  float topP;

  @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = all (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--seed", description = "Sampler seed (default: random).")
  Long seed;

  @Option(names = "--threads", defaultValue = "1", description = "Compute threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--backend", defaultValue = "java", description = "Backend name (default: ${DEFAULT-VALUE}).")
  String backendName;

  @Option(names = "--backend-option", paramLabel = "KEY=VALUE", description = "Backend-specific setting "
      + "(repeatable), e.g. llamacpp.kv-type=f32; the backend refuses keys of its own prefix it does not know.")
  java.util.Map<String, String> backendOptions = new java.util.LinkedHashMap<>();

  @Option(names = "--json", description = "Print one JSON object {prompt_ids, ids, text} instead of streaming text.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (maxTokens <= 0) {
      throw new ParameterException(spec.commandLine(), "--max-tokens: " + maxTokens + " (expected: > 0)");
    }
    if (threads <= 0) {
      throw new ParameterException(spec.commandLine(), "--threads: " + threads + " (expected: > 0)");
    }
    SamplingParams sampling;
    try {
      sampling = SamplingParams.of(temperature, topP, seed != null ? seed : ThreadLocalRandom.current().nextLong())
          .withTopK(topK);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    Path modelPath = model != null ? model : DefaultModel.path();
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
    PrintStream err = System.err;
    BackendConfig probe = BackendConfig.builder(modelPath).threads(threads).build();
    BackendConfig config;
    try {
      config = withOptions(sizedForOneSequence(probe), backendOptions);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--backend-option: " + e.getMessage());
    }
    Backend opened;
    try {
      opened = Backends.open(backendName, config);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    try (Backend backend = opened) {
      Tokenizer tokenizer = backend.tokenizer();
      int[] promptIds = tokenizer.encodePrompt(prompt);
      if (promptIds.length == 0) {
        throw new ParameterException(spec.commandLine(), "--prompt: encodes to no tokens and the model has no BOS");
      }
      int room = backend.model().contextLength() - promptIds.length;
      if (room <= 0) {
        err.printf("disagg generate: prompt is %d tokens, the model's context is %d%n",
            promptIds.length, backend.model().contextLength());
        return 2;
      }
      int budget = Math.min(maxTokens, room);
      Utf8StreamDecoder text = new Utf8StreamDecoder(tokenizer, promptIds[promptIds.length - 1]);
      StringBuilder all = new StringBuilder();
      List<Integer> ids = new ArrayList<>();

      long start = System.nanoTime();
      PrefillResult prefill = backend.prefill(new PrefillRequest("generate", promptIds, sampling, budget));
      long prefillNanos = System.nanoTime() - start;
      long decodeStart = System.nanoTime();
      int decodeSteps = 0;
      try (Sequence sequence = prefill.sequence()) {
        int token = prefill.firstToken().tokenId();
        while (true) {
          if (tokenizer.isEndOfGeneration(token)) {
            break;
          }
          ids.add(token);
          String delta = text.append(token);
          all.append(delta);
          if (!json) {
            out.print(delta);
            out.flush();
          }
          if (ids.size() >= budget) {
            break;
          }
          token = backend.decode(List.of(new DecodeSlot(sequence, token, sampling))).getFirst().tokenId();
          decodeSteps++;
        }
      }
      long decodeNanos = System.nanoTime() - decodeStart;
      String tail = text.flush();
      all.append(tail);
      if (json) {
        ObjectNode node = JSON.createObjectNode();
        node.putArray("prompt_ids").addAll(toJson(promptIds));
        node.putArray("ids").addAll(toJson(ids.stream().mapToInt(Integer::intValue).toArray()));
        node.put("text", all.toString());
        out.println(JSON.writeValueAsString(node));
      } else {
        out.println(tail);
      }
      out.flush();
      err.printf("prefill: %d tokens in %.1f ms (%.1f tok/s); decode: %d tokens in %.1f ms (%.1f tok/s)%n",
          promptIds.length, prefillNanos / 1e6, promptIds.length / (prefillNanos / 1e9),
          decodeSteps, decodeNanos / 1e6, decodeSteps == 0 ? 0.0 : decodeSteps / (decodeNanos / 1e9));
      return 0;
    } catch (BackendException e) {
      err.println("disagg generate: " + e.getMessage());
      return e.code() == BackendException.Code.MODEL_INVALID ? 3 : 1;
    }
  }

  /** A pool big enough for one sequence of the model's whole context, so generate never runs out of blocks. */
  private static BackendConfig withOptions(BackendConfig base, java.util.Map<String, String> options) {
    BackendConfig.Builder b = BackendConfig.builder(base.modelPath()).threads(base.threads())
        .blockTokens(base.blockTokens()).kvBlocks(base.kvBlocks()).maxBatchTokens(base.maxBatchTokens());
    options.forEach(b::option);
    return b.build();
  }

  private static BackendConfig sizedForOneSequence(BackendConfig probe) {
    int blockTokens = probe.blockTokens();
    // The context length is only known after loading; 64 blocks of 16 covers stories260K's 512 trained positions
    // and the pool grows with the model's context below.
    int blocks = Math.max(64, contextBlocks(probe.modelPath(), blockTokens));
    return BackendConfig.builder(probe.modelPath()).threads(probe.threads()).blockTokens(blockTokens).kvBlocks(blocks)
        .build();
  }

  private static int contextBlocks(Path modelPath, int blockTokens) {
    try (io.disagg.gguf.GgufFile file = io.disagg.gguf.GgufFile.open(modelPath)) {
      String arch = file.getString("general.architecture");
      long context = file.findLong(arch + ".context_length").orElse(2048);
      return (int) Math.min(1 << 16, (context + blockTokens - 1) / blockTokens + 1);
    } catch (RuntimeException e) {
      return 64; // the backend reports an unreadable model with a proper message when it opens it
    }
  }

  private static List<com.fasterxml.jackson.databind.JsonNode> toJson(int[] values) {
    List<com.fasterxml.jackson.databind.JsonNode> nodes = new ArrayList<>(values.length);
    for (int v : values) {
      nodes.add(JSON.getNodeFactory().numberNode(v));
    }
    return nodes;
  }

}
