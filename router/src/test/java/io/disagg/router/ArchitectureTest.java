package io.disagg.router;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The router reaches workers over gRPC only, and uses the model file only for its tokenizer. */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
        .importPackages("io.disagg.router");
  }

  @Test
  void router_neverTouchesEngineWorkersOrKvTransfer() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.disagg.backend.java..",
        "io.disagg.decode..", "io.disagg.prefill..", "io.disagg.kv..", "io.disagg.backend.spi.internal..",
        "io.disagg.gguf.internal..", "io.netty..").check(classes);
  }

  @Test
  void onlyServedModels_readsModelFiles() {
    noClasses().that().doNotHaveFullyQualifiedName(ServedModels.class.getName())
        .should().dependOnClassesThat().resideInAPackage("io.disagg.gguf..").check(classes);
  }

  @Test
  void publicEntryTypes_areFinal() {
    classes().that().haveFullyQualifiedName(RouterService.class.getName())
        .or().haveFullyQualifiedName(RouterService.Builder.class.getName())
        .or().haveFullyQualifiedName(RouterServer.class.getName())
        .or().haveFullyQualifiedName(RouterMain.class.getName())
        .or().haveFullyQualifiedName(ThresholdClassifier.class.getName())
        .or().haveFullyQualifiedName(LeastLoadedSelector.class.getName())
        .should().haveModifier(JavaModifier.FINAL).check(classes);
  }
}
