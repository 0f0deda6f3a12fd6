package io.disagg.gguf;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter()
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
        .importPackages("io.disagg.gguf");
  }

  @Test
  void module_dependsOnlyOnTheJdkAndTheBackendSpi() {
    noClasses().should().dependOnClassesThat().resideInAnyPackage("io.netty..", "io.grpc..", "com.google.protobuf..",
        "sun.misc..", "io.disagg.backend.spi.internal..", "io.disagg.backend.java..").check(classes);
  }

  @Test
  void publicPackage_exposesOnlyTheDocumentedTypes() {
    var exposed = classes.stream()
        .filter(c -> c.getPackageName().equals("io.disagg.gguf"))
        .filter(c -> c.getModifiers().contains(JavaModifier.PUBLIC) && c.getEnclosingClass().isEmpty())
        .map(c -> c.getSimpleName())
        .collect(Collectors.toSet());
    assertThat(exposed).containsExactlyInAnyOrder("GgufException", "GgmlType", "TensorInfo", "GgufValueType",
        "GgufArray", "GgufFile", "GgmlCodec", "KQuantCodec", "GgufWriter", "SyntheticModel", "GgufTokenizers");
  }

  @Test
  void entryTypes_areFinal() {
    classes().that().resideInAPackage("io.disagg.gguf").and().haveSimpleNameEndingWith("Builder")
        .should().haveModifier(JavaModifier.FINAL).check(classes);
    classes().that().haveFullyQualifiedName(GgufFile.class.getName())
        .or().haveFullyQualifiedName(GgufWriter.class.getName())
        .or().haveFullyQualifiedName(SyntheticModel.class.getName())
        .should().haveModifier(JavaModifier.FINAL).check(classes);
  }
}
