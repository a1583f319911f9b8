package org.cloister.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaCall;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.cloister.coordinator.rounds.RoundEngine;
import org.cloister.coordinator.study.StudyAssembly;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module graph follows the trust boundaries (docs/architecture.md), checked on the compiled
 * classes of every module on the cli's class path. Maven already refuses an import of a module that
 * is not a dependency; these rules keep the packages in line where a dependency exists for another
 * reason, and keep the one assembly path the only one.
 *
 * <p>Why not {@code module-info.java}: DL4J, ND4J and their JavaCPP natives are automatic modules with
 * split packages, which the module path refuses; the rules below say what module-info would.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    // our classes only: dependencies outside org.cloister are matched by name, not imported (DL4J is large)
    com.tngtech.archunit.ArchConfiguration.get().setResolveMissingDependenciesFromClassPath(false);
    // the reactor's target/classes folders; scanning every jar (DL4J's natives) would take most of the time
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .withImportOption(ArchitectureTest::reactorOnly)
        .importPackages("org.cloister");
  }

  /**
   * The reactor's modules: their {@code target/classes} folders (a test run from {@code test}) or their
   * {@code target/*.jar} (the same classes under {@code verify}, where Maven puts the packaged jars on
   * the class path); never a jar from the local repository, nor a module's test-jar.
   */
  static boolean reactorOnly(com.tngtech.archunit.core.importer.Location location) {
    if (!location.isJar()) {
      return true;
    }
    String uri = location.asURI().toString();
    // a module's test-jar (coordinator's test helpers) holds test classes, which the rules do not govern
    return uri.contains("/target/") && !uri.contains("/.m2/") && !uri.contains("-tests.jar");
  }

  @Test
  void theSiteNeverDependsOnTheCoordinatorOrTheHostSide() {
    noClasses().that().resideInAPackage("org.cloister.site..")
        .should().dependOnClassesThat().resideInAnyPackage("org.cloister.coordinator..", "org.cloister.consortium..",
            "org.cloister.enclave..", "org.cloister.broker..", "org.cloister.simulations..", "org.cloister.cli..")
        .because("sites and the coordinator meet only in protocol")
        .check(classes);
  }

  @Test
  void theEnclavesDependOnNothingTheUntrustedHostControls() {
    noClasses().that().resideInAnyPackage("org.cloister.enclave..", "org.cloister.inference.enclave..")
        .should().dependOnClassesThat().resideInAnyPackage("org.cloister.coordinator..", "org.cloister.site..",
            "org.cloister.consortium..", "org.cloister.broker..", "org.cloister.simulations..", "org.cloister.cli..",
            "org.cloister.observability..")
        .because("the enclave's code is measured: it may depend only on protocol, trust, dp-accounting, aggregation "
            + "(and, for inference, the model card and the client's sealing contract)")
        .check(classes);
    noClasses().that().resideInAPackage("org.cloister.enclave..")
        .should().dependOnClassesThat().resideInAnyPackage("org.cloister.models..", "org.cloister.data..",
            "org.deeplearning4j..", "org.nd4j..")
        .because("the secure aggregator handles weights as vectors; no DL4J in its image")
        .check(classes);
    noClasses().that().resideInAPackage("org.cloister.inference.enclave..")
        .should().dependOnClassesThat().resideInAnyPackage("org.cloister.models..", "org.deeplearning4j..",
            "org.nd4j..", "io.grpc.netty..")
        .because("the inference enclave scores with its plain-Java kernel (InferenceKernel) and serves gRPC over OkHttp: "
            + "no DL4J, ND4J or Netty in its image")
        .check(classes);
  }

  @Test
  void theCoordinatorIsModelAgnostic() {
    noClasses().that().resideInAPackage("org.cloister.coordinator..")
        .should().dependOnClassesThat().resideInAnyPackage("org.deeplearning4j..", "org.nd4j..", "org.cloister.models..",
            "org.cloister.site..", "org.cloister.enclave..", "org.cloister.consortium..", "org.cloister.simulations..",
            "org.cloister.cli..")
        .check(classes);
  }

  @Test
  void theInferenceClientHasNoModelCode() {
    noClasses().that().resideInAPackage("org.cloister.inference.client..")
        .should().dependOnClassesThat().resideInAnyPackage("org.deeplearning4j..", "org.nd4j..", "org.cloister.models..",
            "org.cloister.inference.enclave..", "org.cloister.coordinator..", "org.cloister.site..",
            "org.cloister.simulations..", "org.cloister.cli..")
        .check(classes);
  }

  @Test
  void onlyTheSimulationsAndTheCommandSeeEverySide() {
    noClasses().that().resideOutsideOfPackages("org.cloister.simulations..", "org.cloister.cli..")
        .should().dependOnClassesThat().resideInAnyPackage("org.cloister.simulations..", "org.cloister.cli..")
        .check(classes);
  }

  @Test
  void servingAModelDoesNotNeedTheSimulations() {
    noClasses().that().resideInAPackage("org.cloister.consortium.inference..")
        .or().haveNameMatching("org\\.cloister\\.cli\\.(InferCommand|ServiceCommands)(\\$.*)?")
        .should().dependOnClassesThat().resideInAnyPackage("org.cloister.simulations..")
        .because("infer serve and the services run in a deployment, where nothing of a simulation belongs")
        .check(classes);
    // the rule matches the command it guards
    org.assertj.core.api.Assertions.assertThat(classes.contain(InferCommand.class)).isTrue();
  }

  @Test
  void evidenceIsVerifiedOnlyByTrustsVerifiers() {
    com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes()
        .that().implement(org.cloister.trust.attestation.EvidenceVerifierProvider.class)
        .or().implement(org.cloister.trust.attestation.EvidenceVerifier.class)
        .should().resideInAPackage("org.cloister.trust.attestation..")
        .because("a party's verifiers are the pinned-root ones in trust (docs/extending.md, Add an attestation "
            + "platform)")
        .check(classes);
    noClasses().that().resideOutsideOfPackage("org.cloister.enclave.runtime..")
        .should().implement(org.cloister.enclave.runtime.AttestationPlatformProvider.class)
        .because("the enclave's platforms ship in its measured runtime")
        .check(classes);
  }

  /**
   * What the enclaves run of {@code trust} (naming a platform, producing evidence on the simulated platforms, reading
   * the launch value of their own report) refers to no verifier, and what they run of {@code data} and their own code
   * to no Jackson databind: the minimised images follow references, so one such reference brings the verifiers'
   * collateral parsing or databind's ~1,000 classes back into the TCB (EnclaveImageTest and InferenceImageTest check
   * the images themselves).
   */
  @Test
  void whatTheEnclavesRunReachesNoVerifierAndNoDatabind() {
    noClasses().that().belongToAnyOf(org.cloister.trust.attestation.TeePlatform.class,
            org.cloister.trust.attestation.LaunchConfiguration.class,
            org.cloister.trust.attestation.snp.SimulatedSnpPlatform.class,
            org.cloister.trust.attestation.snp.SnpEvidence.class,
            org.cloister.trust.attestation.tdx.SimulatedTdxPlatform.class,
            org.cloister.trust.attestation.tdx.TdxEvidence.class,
            org.cloister.trust.attestation.nitro.SimulatedNitroPlatform.class)
        .or().resideInAnyPackage("org.cloister.enclave..", "org.cloister.inference.enclave..")
        .should().dependOnClassesThat().belongToAnyOf(org.cloister.trust.attestation.EvidenceVerifiers.class,
            org.cloister.trust.attestation.BoundEvidenceVerifier.class,
            org.cloister.trust.attestation.MeasurementPins.class,
            org.cloister.trust.attestation.snp.SnpVerifier.class,
            org.cloister.trust.attestation.tdx.TdxVerifier.class,
            org.cloister.trust.attestation.nitro.NitroAttestationVerifier.class,
            org.cloister.trust.attestation.nitro.NitroEvidenceVerifier.class,
            org.cloister.trust.attestation.tdx.SimulatedIntelPcs.class)
        .because("an enclave produces its own evidence and verifies none; the verifiers are the host's")
        .check(classes);
    noClasses().that().belongToAnyOf(org.cloister.data.ModelCard.class, org.cloister.data.FeatureRule.class,
            org.cloister.data.PreprocessingSpec.class, org.cloister.inference.client.InferenceSealing.class)
        .or().resideInAnyPackage("org.cloister.enclave..", "org.cloister.inference.enclave..")
        .should().dependOnClassesThat().resideInAPackage("com.fasterxml.jackson.databind..")
        .because("the model card, the measured files and the audit trail are on Jackson's streaming core: "
            + "no databind in the enclave images")
        .check(classes);
  }

  @Test
  void aRoundEngineIsBuiltOnlyByTheStudyAssembly() {
    DescribedPredicate<JavaCall<?>> engineConstructor = new DescribedPredicate<>("construct a RoundEngine") {
      @Override
      public boolean test(JavaCall<?> call) {
        return call.getTargetOwner().isEquivalentTo(RoundEngine.class) && call.getTarget().getName().equals("<init>");
      }
    };
    noClasses().that().doNotBelongToAnyOf(StudyAssembly.Builder.class, RoundEngine.class)
        .should().callCodeUnitWhere(engineConstructor)
        .because("a study is wired in one place (docs/architecture.md, One assembly path)")
        .check(classes);
    // the rule sees constructor calls at all: the one allowed caller is matched
    org.assertj.core.api.Assertions.assertThat(classes.get(StudyAssembly.Builder.class).getConstructorCallsFromSelf())
        .anyMatch(engineConstructor);
  }
}
