package io.disagg.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.lang.ArchRule;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Keeps the module graph pointing one way: proto and the backend SPI at the bottom, the router at the top, and no
 * module reaching into another's {@code internal} packages. The CLI sees every module on its class path, so the rules
 * run here.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.disagg");
  }

  @Test
  void spi_dependsOnNoOtherDisaggModule() {
    noClasses().that().resideInAPackage("io.disagg.backend.spi..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.gguf..", "io.disagg.backend.java..", "io.disagg.kv..", "io.disagg.proto..",
            "io.disagg.prefill..", "io.disagg.decode..", "io.disagg.router..", "io.disagg.client..",
            "io.disagg.openai..", "io.disagg.loadtest..", "io.disagg.cli..")
        .check(classes);
  }

  @Test
  void engine_doesNotKnowTransportsWorkersOrRouter() {
    noClasses().that().resideInAnyPackage("io.disagg.backend.java..", "io.disagg.gguf..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.kv..", "io.disagg.proto..", "io.disagg.prefill..", "io.disagg.decode..",
            "io.disagg.router..", "io.disagg.openai..", "io.disagg.client..", "io.disagg.loadtest..")
        .check(classes);
  }

  @Test
  void simulatedBackend_dependsOnSpiAndGgufOnly() {
    noClasses().that().resideInAPackage("io.disagg.backend.simulated..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.backend.java..", "io.disagg.kv..", "io.disagg.proto..", "io.disagg.worker..",
            "io.disagg.prefill..", "io.disagg.decode..", "io.disagg.router..", "io.disagg.openai..",
            "io.disagg.client..", "io.disagg.loadtest..", "io.disagg.cli..", "io.disagg.backend.spi.internal..",
            "io.disagg.gguf.internal..")
        .check(classes);
  }

  @Test
  void kvTransfer_doesNotKnowEngineWorkersOrRouter() {
    noClasses().that().resideInAPackage("io.disagg.kv..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.backend.java..", "io.disagg.gguf..", "io.disagg.prefill..", "io.disagg.decode..",
            "io.disagg.router..", "io.disagg.openai..", "io.disagg.client..")
        .check(classes);
  }

  @Test
  void router_reachesWorkersOverGrpcOnly() {
    noClasses().that().resideInAPackage("io.disagg.router..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.backend.java..", "io.disagg.kv..", "io.disagg.worker..", "io.disagg.prefill..",
            "io.disagg.decode..", "io.disagg.client..", "io.disagg.loadtest..", "io.disagg.cli..")
        .check(classes);
  }

  @Test
  void clientSdk_dependsOnProtoOnly() {
    noClasses().that().resideInAPackage("io.disagg.client..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.backend..", "io.disagg.gguf..", "io.disagg.kv..", "io.disagg.worker..", "io.disagg.prefill..",
            "io.disagg.decode..", "io.disagg.router..", "io.disagg.openai..", "io.disagg.loadtest..", "io.disagg.cli..")
        .check(classes);
  }

  @Test
  void openAiFrontEnd_dependsOnProtoOnly() {
    noClasses().that().resideInAPackage("io.disagg.openai..")
        .should().dependOnClassesThat().resideInAnyPackage(
            "io.disagg.backend..", "io.disagg.gguf..", "io.disagg.kv..", "io.disagg.worker..", "io.disagg.prefill..",
            "io.disagg.decode..", "io.disagg.router..", "io.disagg.client..", "io.disagg.loadtest..", "io.disagg.cli..")
        .check(classes);
  }

  @Test
  void workers_neverCallTheRouterOrEachOther() {
    noClasses().that().resideInAnyPackage("io.disagg.prefill..", "io.disagg.worker..")
        .should().dependOnClassesThat().resideInAnyPackage("io.disagg.router..", "io.disagg.decode..")
        .check(classes);
    noClasses().that().resideInAnyPackage("io.disagg.decode..", "io.disagg.worker..")
        .should().dependOnClassesThat().resideInAnyPackage("io.disagg.router..", "io.disagg.prefill..")
        .check(classes);
  }

  @Test
  void modules_neverImportAnotherModulesInternals() {
    List<String> modules = List.of("backend.spi", "gguf", "backend.java", "kv", "worker", "prefill", "decode", "router",
        "openai", "client", "loadtest", "cli");
    for (String module : modules) {
      String own = "io.disagg." + module + "..";
      ArchRule rule = noClasses().that().resideOutsideOfPackage(own)
          .should().dependOnClassesThat().resideInAPackage("io.disagg." + module + ".internal..")
          .allowEmptyShould(true)
          .because("internal packages of " + module + " may change at any time");
      rule.check(classes);
    }
  }
}
