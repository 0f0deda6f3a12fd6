package io.disagg.worker;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;

/**
 * Option defaults from the environment ({@code DISAGG_KV_BLOCKS} for {@code --kv-blocks}) and then a properties file
 * ({@code kv-blocks=...}); flags on the command line beat both, because picocli only asks for a default when the flag
 * is absent.
 */
public final class LayeredDefaults implements CommandLine.IDefaultValueProvider {
  private final Map<String, String> env;
  private final Properties file;

  private LayeredDefaults(Map<String, String> env, Properties file) {
    this.env = env;
    this.file = file;
  }

  /**
   * Reads the {@code --config} file named in {@code args} (or by {@code DISAGG_CONFIG}) before picocli parses them,
   * since defaults are resolved before parsing.
   *
   * @throws CommandLine.ParameterException style failures surface as IllegalArgumentException with the file name
   */
  public static LayeredDefaults from(String[] args, Map<String, String> env) {
    String config = env.get("DISAGG_CONFIG");
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        config = args[i + 1];
      } else if (args[i].startsWith("--config=")) {
        config = args[i].substring("--config=".length());
      }
    }
    Properties props = new Properties();
    if (config != null && !config.isEmpty()) {
      try (Reader r = Files.newBufferedReader(Path.of(config))) {
        props.load(r);
      } catch (IOException e) {
        throw new IllegalArgumentException("--config: " + config + " (cannot read: " + e.getMessage() + ")", e);
      }
    }
    return new LayeredDefaults(env, props);
  }

  @Override
  public String defaultValue(CommandLine.Model.ArgSpec argSpec) {
    if (!(argSpec instanceof CommandLine.Model.OptionSpec option)) {
      return null;
    }
    String key = option.longestName().replaceFirst("^--", "");
    if (key.equals("config") || key.equals("help") || key.equals("version")) {
      return null;
    }
    String envValue = env.get("DISAGG_" + key.toUpperCase(Locale.ROOT).replace('-', '_'));
    if (envValue != null) {
      return envValue;
    }
    String fileValue = file.getProperty(key);
    return fileValue != null ? fileValue.trim() : null;
  }
}
