package io.disagg.cli.internal;

import io.disagg.gguf.SyntheticModel;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code disagg model ...}: model file utilities. */
@Command(name = "model", mixinStandardHelpOptions = true, description = "Model file utilities.",
    subcommands = {ModelCommand.Synth.class})
public final class ModelCommand {

  /** {@code disagg model synth}: writes a random-weight Llama-family GGUF model. */
  @Command(name = "synth", mixinStandardHelpOptions = true,
      description = {"Writes a random-weight Llama-family GGUF model of any shape and tensor type.",
          "Used for tests of every tensor type and for benchmarks far above the tiny real model."})
  public static final class Synth implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--shape", required = true,
        description = "A preset (tiny, 100m) or a spec like layers=12,dim=768,heads=12,kv-heads=4,ffn=2048,vocab=32000,ctx=2048.")
    String shape;

    @Option(names = "--type", defaultValue = "F32", description = "Tensor type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K, or the mix Q4_K_M (default: ${DEFAULT-VALUE}).")
    String type;

    @Option(names = "--arch", defaultValue = "llama", description = "llama or qwen2 (default: ${DEFAULT-VALUE}).")
    String architecture;

    @Option(names = "--tokenizer", defaultValue = "llama", description = "llama (SentencePiece) or gpt2 (byte-level BPE) (default: ${DEFAULT-VALUE}).")
    String tokenizer;

    @Option(names = "--tied", description = "Tie the output head to the token embeddings.")
    boolean tied;

    @Option(names = "--seed", defaultValue = "42", description = "Weight seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "Output file.")
    Path out;

    @Override
    public Integer call() {
      SyntheticModel.Builder builder;
      try {
        builder = SyntheticModel.fromShapeSpec(shape)
            .architecture(architecture)
            .tokenizer(tokenizer)
            .typeName(type)
            .tiedOutput(tied)
            .seed(seed);
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), e.getMessage());
      }
      long started = System.nanoTime();
      Path written = builder.write(out);
      System.err.printf("wrote %s (%s, %,d parameters) in %.1f s%n", written, type.toUpperCase(Locale.ROOT), builder.parameterCount(),
          (System.nanoTime() - started) / 1e9);
      return 0;
    }
  }
}
