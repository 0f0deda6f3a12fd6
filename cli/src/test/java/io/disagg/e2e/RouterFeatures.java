package io.disagg.e2e;

import io.disagg.router.RouterMain;
import java.util.Arrays;
import picocli.CommandLine.Option;

/** What the router on the class path can do, read from its declared options (not from running it). */
final class RouterFeatures {
  private RouterFeatures() {}

  /** Whether {@code RouterMain} has an {@code --http-port} option (the OpenAI HTTP front end). */
  static boolean servesHttp() {
    return Arrays.stream(RouterMain.class.getDeclaredFields())
        .map(f -> f.getAnnotation(Option.class))
        .filter(o -> o != null)
        .anyMatch(o -> Arrays.asList(o.names()).contains("--http-port"));
  }
}
