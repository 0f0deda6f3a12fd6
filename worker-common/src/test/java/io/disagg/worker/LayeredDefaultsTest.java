package io.disagg.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class LayeredDefaultsTest {

  @Command(name = "probe")
  static final class Probe implements Runnable {
    @Option(names = "--kv-blocks", defaultValue = "1024") int kvBlocks;
    @Option(names = "--block-tokens", defaultValue = "16") int blockTokens;
    @Option(names = "--worker-id") String workerId;
    @Option(names = "--config") Path config;

    @Override
    public void run() {}
  }

  private static Probe parse(Map<String, String> env, String... args) {
    Probe probe = new Probe();
    new CommandLine(probe).setDefaultValueProvider(LayeredDefaults.from(args, env)).parseArgs(args);
    return probe;
  }

  @Test
  void flagBeatsEnvironmentBeatsConfigFile(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("w.properties");
    Files.writeString(config, "kv-blocks=32\nblock-tokens=32\nworker-id= from-file \n");

    Probe p = parse(Map.of("DISAGG_KV_BLOCKS", "48", "DISAGG_BLOCK_TOKENS", "8"),
        "--config", config.toString(), "--kv-blocks", "64");

    assertThat(p.kvBlocks).isEqualTo(64);
    assertThat(p.blockTokens).isEqualTo(8);
    assertThat(p.workerId).isEqualTo("from-file");
  }

  @Test
  void configNamedByEnvironment_isRead_andEqualsFormWorks(@TempDir Path dir) throws Exception {
    Path fromEnv = dir.resolve("env.properties");
    Files.writeString(fromEnv, "kv-blocks=12\n");
    Path fromFlag = dir.resolve("flag.properties");
    Files.writeString(fromFlag, "kv-blocks=13\n");

    assertThat(parse(Map.of("DISAGG_CONFIG", fromEnv.toString())).kvBlocks).isEqualTo(12);
    assertThat(parse(Map.of("DISAGG_CONFIG", fromEnv.toString()), "--config=" + fromFlag).kvBlocks).isEqualTo(13);
  }

  @Test
  void nothingSet_keepsAnnotatedDefaults() {
    Probe p = parse(Map.of());

    assertThat(p.kvBlocks).isEqualTo(1024);
    assertThat(p.workerId).isNull();
  }

  @Test
  void unreadableConfig_failsNamingTheFile(@TempDir Path dir) {
    String missing = dir.resolve("absent.properties").toString();

    assertThatThrownBy(() -> LayeredDefaults.from(new String[] {"--config", missing}, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("--config: " + missing + " (cannot read:");
  }
}
