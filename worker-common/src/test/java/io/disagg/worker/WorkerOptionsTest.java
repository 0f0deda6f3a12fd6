package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class WorkerOptionsTest {

  @Command(name = "probe")
  static final class Probe implements Callable<Integer> {
    @Mixin WorkerOptions options;

    @Override
    public Integer call() {
      options.openBackend(64).close();
      return 0;
    }
  }

  private static WorkerOptions parse(Map<String, String> env, String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).setDefaultValueProvider(LayeredDefaults.from(args, env)).parseArgs(args);
    return probe.options;
  }

  @Test
  void backendOption_repeated_reachesTheBackendConfigWithTheOtherFlags() {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--threads", "2",
        "--backend-option", "java.prefix-cache=false", "--backend-option", "java.min-parallel-work=1");

    var config = o.backendConfig(64);

    assertThat(config.options())
        .containsExactlyInAnyOrderEntriesOf(Map.of("java.prefix-cache", "false", "java.min-parallel-work", "1"));
    assertThat(config.threads()).isEqualTo(2);
    assertThat(config.maxBatchTokens()).isEqualTo(64);
  }

  @Test
  void noBackendOption_givesNoOptions() {
    assertThat(parse(Map.of(), "--model", "m.gguf").backendConfig(64).options()).isEmpty();
  }

  @Test
  void backendOption_withoutEquals_isAParameterErrorNamingTheFlag() {
    assertThatThrownBy(() -> parse(Map.of(), "--model", "m.gguf", "--backend-option", "java.prefix-cache"))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessageContaining("--backend-option")
        .hasMessageContaining("java.prefix-cache");
  }

  @Test
  void backendOption_withoutKey_isAParameterError() {
    WorkerOptions o = parse(Map.of(), "--model", "m.gguf", "--backend-option", " =false");

    assertThatThrownBy(() -> o.backendConfig(64))
        .isInstanceOf(CommandLine.ParameterException.class)
        .hasMessage("--backend-option: =false (expected: KEY=VALUE with a non-empty KEY)");
  }

  @Test
  void backendOption_inConfigFileOrEnvironment_isACommaSeparatedList_thatFlagsReplace(@TempDir Path dir)
      throws Exception {
    Path config = dir.resolve("w.properties");
    Files.writeString(config, "backend-option=java.prefix-cache=false, java.min-parallel-work=8\n");

    assertThat(parse(Map.of(), "--model", "m.gguf", "--config", config.toString()).backendConfig(64).options())
        .containsExactlyInAnyOrderEntriesOf(Map.of("java.prefix-cache", "false", "java.min-parallel-work", "8"));
    assertThat(parse(Map.of("DISAGG_BACKEND_OPTION", "java.min-parallel-work=4"), "--model", "m.gguf", "--config",
        config.toString()).backendConfig(64).options())
        .containsExactlyEntriesOf(Map.of("java.min-parallel-work", "4"));
    assertThat(parse(Map.of(), "--model", "m.gguf", "--config", config.toString(),
        "--backend-option", "java.prefix-cache=true").backendConfig(64).options())
        .containsExactlyEntriesOf(Map.of("java.prefix-cache", "true"));
  }

  @Test
  void backendTheWorkerCannotOpen_isAUsageError() {
    StringWriter err = new StringWriter();

    int code = WorkerCli.execute(new Probe(), Map.of(), new PrintWriter(new StringWriter()), new PrintWriter(err),
        "--model", "m.gguf", "--backend", "absent");

    assertThat(code).isEqualTo(CommandLine.ExitCode.USAGE);
    assertThat(err.toString()).startsWith("backend: absent (expected one of:");
  }
}
