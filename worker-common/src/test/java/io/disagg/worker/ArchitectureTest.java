package io.disagg.worker;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** worker-common sits under both workers: it knows the backend SPI and the wire types, never a worker. */
@AnalyzeClasses(packages = "io.disagg.worker",
    importOptions = {ImportOption.DoNotIncludeTests.class, ImportOption.DoNotIncludeJars.class})
class ArchitectureTest {

  @ArchTest
  static final ArchRule workerCommon_neverTouchesWorkersKvTransferRouterOrBackendInternals = noClasses().should()
      .dependOnClassesThat().resideInAnyPackage("io.disagg.decode..", "io.disagg.prefill..", "io.disagg.kv..",
          "io.disagg.router..", "io.disagg.backend.java..", "io.disagg.backend.spi.internal..", "io.disagg.gguf..");
}
