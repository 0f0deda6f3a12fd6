package io.disagg.backend.java.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.disagg.backend.java.internal.JavaBackend;
import io.disagg.backend.spi.BackendConfig;
import io.disagg.backend.spi.PrefillRequest;
import io.disagg.backend.spi.SamplingParams;
import io.disagg.gguf.GgmlType;
import io.disagg.gguf.SyntheticModel;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EngineBenchmarkTest {
  @TempDir
  Path dir;

  private EngineBenchmark.Options tinyRun(String backends) {
    return EngineBenchmark.Options.parse("--model", "none", "--synthetic", "tiny", "--types", "Q8_0",
        "--threads", "1,2", "--prompt-tokens", "20", "--decode-tokens", "3", "--batches", "1,3",
        "--bandwidth-mib", "64", "--work-dir", dir.toString(), "--backends", backends, "--warm-up-ms", "0",
        "--rounds", "2");
  }

  @Test
  void run_tinyModel_measuresEveryThreadCountAndBatchWithoutCachedPrefill() {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    EngineBenchmark.Report report = EngineBenchmark.run(tinyRun("java"), new PrintStream(text, true,
        StandardCharsets.UTF_8));
    assertThat(report.rows()).extracting(EngineBenchmark.Row::threads).containsExactly(1, 2);
    assertThat(report.rows()).allSatisfy(r -> {
      assertThat(r.type()).isEqualTo("Q8_0");
      assertThat(r.cachedPromptTokens()).isZero();
      assertThat(r.prefillTokensPerSecond()).isPositive();
      assertThat(r.batches()).containsExactly(1, 3);
      assertThat(r.decodeTokensPerSecond()).hasSize(2).allSatisfy(d -> assertThat(d).isPositive());
      assertThat(r.boundTokensPerSecond()).isPositive();
    });
    assertThat(report.ratios()).isEmpty();
    assertThat(text.toString(StandardCharsets.UTF_8)).contains("prefix cache off, checked").contains("decode b3");
  }

  @Test
  void run_twoBackends_printsOneRatioLinePerModelAndThreadCount() {
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    EngineBenchmark.Report report = EngineBenchmark.run(tinyRun("java,java"), new PrintStream(text, true,
        StandardCharsets.UTF_8));
    assertThat(report.rows()).hasSize(4);
    assertThat(report.ratios()).hasSize(2).allSatisfy(r -> {
      assertThat(r.prefill()).isPositive();
      assertThat(r.decode()).isPositive();
    });
    assertThat(text.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("engine ratio Q8_0 prefill ")))
        .hasSize(2).allMatch(l -> l.matches("engine ratio Q8_0 prefill [0-9.]+ decode [0-9.]+ .*"));
  }

  @Test
  void parse_unknownBackend_isUsageErrorNamingTheAvailableOnes() {
    assertThatThrownBy(() -> EngineBenchmark.Options.parse("--backends", "java,nosuch"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("backend nosuch is not on the class path (available: java")
        .hasMessageContaining("usage: bench engine");
  }

  @Test
  void parse_badNumber_isUsageError() {
    assertThatThrownBy(() -> EngineBenchmark.Options.parse("--threads", "one"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("usage: bench engine");
  }

  @Test
  void timedPrefill_promptServedFromPrefixCache_fails() {
    Path model = SyntheticModel.fromShapeSpec("tiny").tensorType(GgmlType.F32).seed(3).write(dir.resolve("t.gguf"));
    try (JavaBackend backend = JavaBackend.open(BackendConfig.builder(model).kvBlocks(16).blockTokens(16)
        .maxBatchTokens(64).build())) {
      int[] prompt = EngineBenchmark.prompt(backend.model(), 40, new SplittableRandom(1));
      backend.prefill(new PrefillRequest("first", prompt, SamplingParams.greedy())).sequence().close();
      assertThatThrownBy(() -> EngineBenchmark.timedPrefill(backend, prompt))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("reused 32 cached prompt tokens");
    }
  }

  @Test
  void prompt_drawsFreshTokensInsideTheVocabulary() {
    Path model = SyntheticModel.fromShapeSpec("tiny").seed(3).write(dir.resolve("p.gguf"));
    try (JavaBackend backend = JavaBackend.open(BackendConfig.builder(model).kvBlocks(4).build())) {
      SplittableRandom random = new SplittableRandom(1);
      int[] a = EngineBenchmark.prompt(backend.model(), 64, random);
      int[] b = EngineBenchmark.prompt(backend.model(), 64, random);
      assertThat(a).isNotEqualTo(b);
      assertThat(a[0]).isEqualTo(1);
      assertThat(java.util.stream.IntStream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)))
          .allMatch(t -> t >= 1 && t < 512);
    }
  }
}
