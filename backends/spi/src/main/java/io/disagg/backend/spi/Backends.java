package io.disagg.backend.spi;

import java.util.List;
import java.util.ServiceLoader;
import java.util.stream.Collectors;

/** Finds {@link BackendProvider}s on the class path. */
public final class Backends {
  private Backends() {}

  /** The providers found, in class-path order. */
  public static List<BackendProvider> providers() {
    return ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get).toList();
  }

  /**
   * Opens the backend named {@code name}.
   *
   * @throws IllegalArgumentException naming the available backends when none has that name
   */
  public static Backend open(String name, BackendConfig config) {
    List<BackendProvider> all = providers();
    return all.stream()
        .filter(p -> p.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("backend: " + name + " (expected one of: "
            + all.stream().map(BackendProvider::name).collect(Collectors.joining(", ")) + ")"))
        .open(config);
  }
}
