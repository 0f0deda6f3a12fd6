package io.disagg.worker;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** worker-common sits under both workers: it knows the backend SPI and the wire types, never a worker. */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
        .importPackages("io.disagg.worker");
  }

  @Test
  void workerCommon_neverTouchesWorkersKvTransferRouterOrBackendInternals() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.disagg.decode..", "io.disagg.prefill..",
        "io.disagg.kv..", "io.disagg.router..", "io.disagg.backend.java..", "io.disagg.backend.spi.internal..",
        "io.disagg.gguf..").check(classes);
  }
}
