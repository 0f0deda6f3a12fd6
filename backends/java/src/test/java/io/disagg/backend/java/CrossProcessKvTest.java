package io.disagg.backend.java;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.DecodeSlot;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.PrefillResult;
import io.disagg.backend.spi.SamplingParams;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import io.disagg.gguf.GgmlType;
import io.disagg.gguf.SyntheticModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Prefill and export here, import and continue decoding in a separate JVM: the tokens must be those of uninterrupted
 * generation. This is the disaggregated path with a file standing in for the wire.
 */
class CrossProcessKvTest {
  static final int STEPS = 12;

  @TempDir
  Path dir;

  /** Result of the child process. */
  record Child(int exitCode, String output) {
    int[] tokens() {
      String line = output.lines().filter(l -> l.startsWith("TOKENS ")).findFirst()
          .orElseThrow(() -> new AssertionError("child printed no tokens:\n" + output));
      return Arrays.stream(line.substring(7).trim().split(" ")).mapToInt(Integer::parseInt).toArray();
    }
  }

  /** Exports {@code prompt}'s cache from {@code exporter} to a file; returns the uninterrupted continuation too. */
  static int[] exportAndReference(Path exporterModel, int[] prompt, Path kvFile) throws IOException {
    try (JavaBackend backend = TestModels.open(exporterModel, 1, 64)) {
      PrefillResult r = backend.prefill(new PrefillRequest("x", prompt, SamplingParams.greedy(), STEPS));
      KvFile.write(kvFile, backend.exportKv(r.sequence()), r.firstToken().tokenId());
      int[] reference = new int[STEPS];
      int token = r.firstToken().tokenId();
      for (int i = 0; i < STEPS; i++) {
        token = backend.decode(List.of(new DecodeSlot(r.sequence(), token, SamplingParams.greedy()))).getFirst()
            .tokenId();
        reference[i] = token;
      }
      r.sequence().close();
      return reference;
    }
  }

  static Child runChild(Path model, Path kvFile) throws IOException, InterruptedException {
    String java = ProcessHandle.current().info().command().orElse(
        Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = new ArrayList<>(List.of(java, "--add-modules=jdk.incubator.vector",
        "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), KvImportMain.class.getName(),
        model.toString(), kvFile.toString(), Integer.toString(STEPS), "1"));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("child JVM did not finish: " + command.stream().collect(Collectors.joining(" ")));
    }
    return new Child(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }

  @Test
  void stories260K_importInSeparateJvm_continuesLikeUninterrupted() throws Exception {
    Path model = TestModels.stories260K();
    int[] prompt = {1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338, 401, 396};
    Path kvFile = dir.resolve("stories.kv");
    int[] reference = exportAndReference(model, prompt, kvFile);
    Child child = runChild(model, kvFile);
    assertThat(child.exitCode()).as(child.output()).isZero();
    assertThat(child.tokens()).containsExactly(reference);
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"llama, F32", "llama, F16", "llama, Q8_0", "llama, Q4_0", "llama, BF16", "qwen2, Q8_0"})
  void syntheticModel_importInSeparateJvm_continuesLikeUninterrupted(String arch, GgmlType type) throws Exception {
    Path model = SyntheticModel.fromShapeSpec("tiny").architecture(arch).tensorType(type).seed(11)
        .write(dir.resolve("tiny-" + arch + "-" + type + ".gguf"));
    int[] prompt = new int[20];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 3 + (i * 41) % 500;
    }
    Path kvFile = dir.resolve("tiny.kv");
    int[] reference = exportAndReference(model, prompt, kvFile);
    Child child = runChild(model, kvFile);
    assertThat(child.exitCode()).as(child.output()).isZero();
    assertThat(child.tokens()).containsExactly(reference);
  }

  @Test
  void cacheFromOtherModelWithSameShapes_refusedInSeparateJvm() throws Exception {
    Path exporter = SyntheticModel.fromShapeSpec("tiny").tensorType(GgmlType.Q8_0).seed(1)
        .write(dir.resolve("seed1.gguf"));
    Path importer = SyntheticModel.fromShapeSpec("tiny").tensorType(GgmlType.Q8_0).seed(2)
        .write(dir.resolve("seed2.gguf"));
    Path kvFile = dir.resolve("seed1.kv");
    exportAndReference(exporter, new int[] {1, 5, 9, 13}, kvFile);
    Child child = runChild(importer, kvFile);
    assertThat(child.exitCode()).as(child.output()).isEqualTo(3);
    assertThat(child.output()).contains("REFUSED KV_MISMATCH").contains("different model");
  }
}
