package io.disagg.cli.internal;

import static org.assertj.core.api.Assertions.assertThat;

import io.disagg.cli.Main;
import java.lang.reflect.Constructor;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParseResult;

class ComponentCommandsTest {

  private static ParseResult parse(String... args) throws Exception {
    Constructor<Main> constructor = Main.class.getDeclaredConstructor();
    constructor.setAccessible(true);
    return new CommandLine(constructor.newInstance()).parseArgs(args);
  }

  @Test
  void componentCommand_passesEveryArgumentThroughInOrder() throws Exception {
    ParseResult result = parse("decode-worker", "--model", "/m.gguf", "--kv-blocks=64", "--help");

    ComponentCommands.DecodeWorker command = (ComponentCommands.DecodeWorker)
        result.subcommand().commandSpec().userObject();
    assertThat(command.args).containsExactly("--model", "/m.gguf", "--kv-blocks=64", "--help");
  }

  @Test
  void benchCommand_passesOptionsAfterTheBenchmarkName() throws Exception {
    ParseResult result = parse("bench", "kv-transfer", "--reps", "3");

    ComponentCommands.Bench command = (ComponentCommands.Bench) result.subcommand().commandSpec().userObject();
    assertThat(command.which).isEqualTo("kv-transfer");
    assertThat(command.args).isEqualTo(List.of("--reps", "3"));
  }

  @Test
  void localClusterCommand_parsesReadyLineAddresses() {
    assertThat(LocalClusterCommand.parseAddresses("grpc=127.0.0.1:4000 kv=unix:/tmp/s http=127.0.0.1:4001"))
        .containsEntry("grpc", "127.0.0.1:4000")
        .containsEntry("kv", "unix:/tmp/s")
        .containsEntry("http", "127.0.0.1:4001");
  }
}
