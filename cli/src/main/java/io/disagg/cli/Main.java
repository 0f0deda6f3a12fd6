package io.disagg.cli;

import io.disagg.cli.internal.CompleteCommand;
import io.disagg.cli.internal.ComponentCommands;
import io.disagg.cli.internal.GenerateCommand;
import io.disagg.cli.internal.LocalClusterCommand;
import io.disagg.cli.internal.ModelCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code ./disagg}. */
@Command(
    name = "disagg",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Disaggregated LLM inference router for the JVM.",
    subcommands = {
      LocalClusterCommand.class,
      GenerateCommand.class,
      CompleteCommand.class,
      ComponentCommands.Router.class,
      ComponentCommands.PrefillWorker.class,
      ComponentCommands.DecodeWorker.class,
      ModelCommand.class,
      ComponentCommands.Bench.class,
      ComponentCommands.LoadTest.class,
      CommandLine.HelpCommand.class
    })
public final class Main {

  private Main() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs a command and returns its exit code (tests call this instead of {@link #main}). */
  public static int run(String... args) {
    return new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Main.class.getPackage().getImplementationVersion();
      return new String[] {"disagg " + (version == null ? "0.1.0-SNAPSHOT" : version)};
    }
  }
}
