package org.cloister.coordinator.study;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.cloister.aggregation.UpdateValidator;
import org.cloister.coordinator.aggregation.PlaintextFedAvgAggregator;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.junit.jupiter.api.Test;

class StudyAssemblyTest {
  private static final StudyConfig STUDY = new StudyConfig("assembled", "toy", 3, 2, 1, 0, Duration.ofSeconds(5),
      Duration.ofSeconds(5), 1, TrainingConfig.newBuilder().setLocalEpochs(1).build(), 1024, 1, Duration.ZERO, true);
  private static final ModelArtifact M0 = StudyAssembly.initialModel("assembled", "toy", new float[] {0f, 1f, 2f});

  private static StudyAssembly.Builder builder() {
    return StudyAssembly.builder(STUDY, M0).database("jdbc:sqlite::memory:")
        .aggregator(new PlaintextFedAvgAggregator(UpdateValidator.dimensionOnly(3))).strategy("fedavg").seed(7);
  }

  @Test
  void refusesAStudyWhosePrivacyCeilingsWereNeverDecided() {
    assertThatThrownBy(() -> builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("privacy ceilings were not given")
        .hasMessageContaining("withoutBudgetEnforcement()");
  }

  @Test
  void namesAMissingPart() {
    assertThatThrownBy(() -> StudyAssembly.builder(STUDY, M0).database("jdbc:sqlite::memory:").strategy("fedavg")
        .withoutBudgetEnforcement().seed(1).build())
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("no aggregator");
    assertThatThrownBy(() -> builder().budgets(null))
        .isInstanceOf(NullPointerException.class).hasMessageContaining("withoutBudgetEnforcement");
  }

  @Test
  void givenCeilingsAreEnforcedByTheEngine() {
    PrivacyBudgets ceilings = new PrivacyBudgets(new PrivacyBudgets.Ceiling(2.0, 1e-5), Map.of());
    try (StudyAssembly.AssembledStudy s = builder().budgets(ceilings).build()) {
      assertThat(s.budgetGuard()).isNotNull();
      assertThat(s.budgets()).isEqualTo(ceilings);
      assertThat(s.engine().model(1)).contains(M0);
    }
    try (StudyAssembly.AssembledStudy s = builder().withoutBudgetEnforcement().build()) {
      assertThat(s.budgetGuard()).isNull();
    }
  }

  @Test
  void theStrategyIsTheOneNamedWithEveryParameterExplicit() {
    try (StudyAssembly.AssembledStudy s = builder().strategy("fedadam").withoutBudgetEnforcement().build()) {
      assertThat(s.strategy().spec().name()).isEqualTo("fedadam");
      assertThat(s.strategy().spec().parameters()).isNotEmpty();
    }
    assertThatThrownBy(() -> builder().strategy("fedbogus").withoutBudgetEnforcement().build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fedbogus");
  }

  @Test
  void theInitialModelCarriesItsDigest() throws Exception {
    byte[] payload = M0.getPayload().toByteArray();
    assertThat(M0.getVersion()).isEqualTo(1);
    assertThat(M0.getDimension()).isEqualTo(3);
    assertThat(M0.getSha256().toByteArray())
        .isEqualTo(java.security.MessageDigest.getInstance("SHA-256").digest(payload));
  }

  /** The one assembly path: no production source outside StudyAssembly constructs a round engine. */
  @Test
  void noOtherProductionCodeWiresARoundEngine() throws IOException {
    Path root = projectRoot();
    List<String> offenders;
    try (Stream<Path> files = Files.walk(root)) {
      offenders = files.filter(p -> p.toString().endsWith(".java"))
          .filter(p -> p.toString().contains("/src/main/java/"))
          .filter(p -> !p.toString().contains("/target/"))
          .filter(p -> !p.getFileName().toString().equals("StudyAssembly.java")
              && !p.getFileName().toString().equals("RoundEngine.java"))
          .filter(p -> read(p).contains("new RoundEngine("))
          .map(p -> root.relativize(p).toString()).toList();
    }
    assertThat(offenders).as("production code that wires a RoundEngine itself instead of through StudyAssembly")
        .isEmpty();
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static Path projectRoot() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("coordinator").resolve("pom.xml"))) {
      p = p.getParent();
    }
    assertThat(p).as("the project root above " + Path.of("").toAbsolutePath()).isNotNull();
    return p;
  }
}
