package io.disagg.cli.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.disagg.client.DisaggClient;
import io.disagg.client.GenerateListener;
import io.disagg.client.GenerateResult;
import io.disagg.client.GenerateStream;
import io.disagg.proto.v1.GenerateChunk;
import io.disagg.proto.v1.GenerateRequest;
import io.disagg.proto.v1.SamplingParams;
import io.disagg.proto.v1.ServeMode;
import io.disagg.proto.v1.ServedBy;
import io.disagg.proto.v1.Timing;
import io.grpc.StatusRuntimeException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code disagg complete}: streams one completion through a running router. */
@Command(name = "complete", mixinStandardHelpOptions = true,
    description = {"Streams a completion through a running router (gRPC).",
        "Text goes to stdout as it arrives; with --json one object {ids, text, timing, served_by} is printed instead."})
public final class CompleteCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Spec CommandSpec spec;

  @Option(names = "--router", required = true, description = "Router gRPC address, HOST:PORT.")
  String router;

  @Option(names = "--prompt", required = true, description = "Prompt text.")
  String prompt;

  @Option(names = "--max-tokens", defaultValue = "128", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
  float temperature;

  @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling threshold (default: ${DEFAULT-VALUE}).")
  float topP;

  @Option(names = "--seed", description = "Sampler seed (default: chosen by the server).")
  Long seed;

  @Option(names = "--stop", description = "Stop string (repeatable).")
  List<String> stop = new ArrayList<>();

  @Option(names = "--mode", defaultValue = "auto",
      description = "auto (router decides), disaggregated or colocated (default: ${DEFAULT-VALUE}).")
  String mode;

  @Option(names = "--api-key", description = "API key, sent as a bearer token (default: $DISAGG_API_KEY).")
  String apiKey;

  @Option(names = "--timeout", defaultValue = "PT60S", description = "Deadline for the whole request (default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = "--json", description = "Print one JSON object instead of streaming text.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (maxTokens <= 0) {
      throw new ParameterException(spec.commandLine(), "--max-tokens: " + maxTokens + " (expected: > 0)");
    }
    ServeMode forced = switch (mode.toLowerCase(Locale.ROOT)) {
      case "auto" -> ServeMode.SERVE_MODE_UNSPECIFIED;
      case "disaggregated" -> ServeMode.SERVE_MODE_DISAGGREGATED;
      case "colocated" -> ServeMode.SERVE_MODE_COLOCATED;
      default -> throw new ParameterException(spec.commandLine(),
          "--mode: " + mode + " (expected: auto, disaggregated or colocated)");
    };
    SamplingParams.Builder sampling = SamplingParams.newBuilder().setTemperature(temperature).setTopP(topP);
    if (seed != null) {
      sampling.setSeed(seed).setHasSeed(true);
    }
    GenerateRequest request = GenerateRequest.newBuilder()
        .setText(prompt)
        .setMaxTokens(maxTokens)
        .setSampling(sampling)
        .addAllStop(stop)
        .setForceMode(forced)
        .build();
    String key = apiKey != null ? apiKey : System.getenv("DISAGG_API_KEY");
    DisaggClient.Builder builder = DisaggClient.builder().target(router).usePlaintext().defaultDeadline(timeout);
    if (key != null && !key.isEmpty()) {
      builder.apiKey(key);
    }
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);
    AtomicReference<GenerateChunk> last = new AtomicReference<>();
    CompletableFuture<GenerateResult> done = new CompletableFuture<>();
    try (DisaggClient client = builder.build()) {
      GenerateStream stream = client.generateStream(request, new GenerateListener() {
        @Override
        public void onChunk(GenerateChunk chunk) {
          if (!json) {
            out.print(chunk.getTextDelta());
            out.flush();
          }
          if (chunk.hasTiming()) {
            last.set(chunk);
          }
        }

        @Override
        public void onCompleted(GenerateResult result) {
          done.complete(result);
        }

        @Override
        public void onError(StatusRuntimeException error) {
          done.completeExceptionally(error);
        }
      });
      Runtime.getRuntime().addShutdownHook(new Thread(() -> stream.cancel("interrupted")));
      GenerateResult result;
      try {
        result = done.join();
      } catch (java.util.concurrent.CompletionException e) {
        if (e.getCause() instanceof StatusRuntimeException s) {
          System.err.println("disagg complete: " + s.getStatus().getCode() + ": " + s.getStatus().getDescription());
          return 1;
        }
        throw e;
      }
      GenerateChunk finalChunk = last.get();
      if (json) {
        ObjectNode node = JSON.createObjectNode();
        var ids = node.putArray("ids");
        result.tokenIds().forEach(ids::add);
        node.put("text", result.text());
        node.put("finish_reason", result.finishReason().name().replace("FINISH_REASON_", "").toLowerCase(Locale.ROOT));
        if (finalChunk != null) {
          node.set("timing", timingJson(finalChunk.getTiming()));
          node.set("served_by", servedByJson(finalChunk.getServedBy()));
          node.putObject("usage")
              .put("prompt_tokens", finalChunk.getUsage().getPromptTokens())
              .put("completion_tokens", finalChunk.getUsage().getCompletionTokens())
              .put("cached_prompt_tokens", finalChunk.getUsage().getCachedPromptTokens());
        }
        out.println(JSON.writeValueAsString(node));
      } else {
        out.println();
        if (finalChunk != null) {
          Timing t = finalChunk.getTiming();
          ServedBy s = finalChunk.getServedBy();
          System.err.printf("%s (%s) decode=%s prefill=%s | ttft %.1f ms, prefill %.1f ms, kv transfer %.1f ms, total %.1f ms%n",
              mode(s.getMode()), s.getReason(), s.getDecodeWorker(), s.getPrefillWorker().isEmpty() ? "-" : s.getPrefillWorker(),
              t.getFirstTokenUs() / 1e3, t.getPrefillUs() / 1e3, t.getKvTransferUs() / 1e3, t.getTotalUs() / 1e3);
        }
      }
      return 0;
    }
  }

  private static String mode(ServeMode mode) {
    return mode.name().replace("SERVE_MODE_", "").toLowerCase(Locale.ROOT);
  }

  private static ObjectNode timingJson(Timing t) {
    return JSON.createObjectNode()
        .put("queued_us", t.getQueuedUs())
        .put("prefill_us", t.getPrefillUs())
        .put("kv_transfer_us", t.getKvTransferUs())
        .put("kv_transfer_bytes", t.getKvTransferBytes())
        .put("first_token_us", t.getFirstTokenUs())
        .put("decode_us", t.getDecodeUs())
        .put("total_us", t.getTotalUs());
  }

  private static ObjectNode servedByJson(ServedBy s) {
    return JSON.createObjectNode()
        .put("mode", mode(s.getMode()))
        .put("reason", s.getReason())
        .put("prefill_worker", s.getPrefillWorker())
        .put("decode_worker", s.getDecodeWorker());
  }
}
