package org.cloister.simulations;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.cloister.data.FeatureRule;
import org.cloister.data.PreprocessingSpec;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 12's bar on a dataset the project never tuned on (the diabetes progression data, see
 * {@code diabetes/NOTICE.md}): four hospitals, Dirichlet(0.5), epsilon 2 per site with everything
 * included, public clinical bounds as the preprocessing: test AUC within 0.06 of the non-private
 * logistic regression trained on all training rows at once (same split, same preprocessing).
 */
@Tag("slow")
class UnseenDatasetSlowTest {

  /** Public clinical bounds of the ten baseline variables (plausible adult ranges, not this cohort's). */
  static PreprocessingSpec clinicalBounds() {
    return new PreprocessingSpec(List.of(
        FeatureRule.bounds("age", 18, 90), FeatureRule.bounds("sex", 1, 2), FeatureRule.bounds("bmi", 15, 50),
        FeatureRule.bounds("bp", 60, 140), FeatureRule.bounds("tc", 100, 350), FeatureRule.bounds("ldl", 30, 250),
        FeatureRule.bounds("hdl", 15, 110), FeatureRule.bounds("tch", 1, 10), FeatureRule.bounds("ltg", 3, 6.5),
        FeatureRule.bounds("glu", 50, 200)));
  }

  private static SimulationConfig.Builder base(Path csv) {
    return SimulationConfig.builder().studyId("diabetes").dataset("csv:" + csv).labelColumn("progressed")
        .preprocessing(clinicalBounds()).model("logreg").seed(42).testFraction(0.2);
  }

  @Test
  void fourSitesAtEpsilonTwoStayWithinSixHundredthsOfCentralAuc(@TempDir Path dir) throws Exception {
    Path csv = dir.resolve("diabetes.csv");
    try (InputStream in = UnseenDatasetSlowTest.class.getResourceAsStream("/diabetes/diabetes.csv")) {
      Files.copy(in, csv);
    }
    SimulationConfig central = base(csv).sites(1).partition("iid").rounds(10).localEpochs(5)
        .learningRate(0.3).minSitesPerRound(1).outDir(dir.resolve("central")).build();
    SimulationConfig federated = base(csv).sites(4).partition("dirichlet:0.5").rounds(10).localSteps(3)
        .learningRate(3.0).minSitesPerRound(2).dp(new DpSettings(true, 2.0, 1e-5, Double.NaN, 0.2, 0.25))
        .outDir(dir.resolve("federated")).build();
    SimulationResult c = new FederatedSimulation(central, x -> { }).run();
    SimulationResult f = new FederatedSimulation(federated, x -> { }).run();
    System.out.printf(java.util.Locale.ROOT, "central non-private: accuracy %.4f auc %.4f; 4 sites at epsilon 2: accuracy %.4f auc %.4f, "
        + "max epsilon %.3f%n", c.finalMetrics().accuracy(), c.finalMetrics().auc(), f.finalMetrics().accuracy(),
        f.finalMetrics().auc(), f.sites().stream().mapToDouble(SiteReport::epsilon).max().orElseThrow());
    assertThat(f.status()).startsWith("finished");
    assertThat(f.sites()).allSatisfy(s -> assertThat(s.epsilon()).isLessThanOrEqualTo(2.0));
    assertThat(f.finalMetrics().auc()).isGreaterThanOrEqualTo(c.finalMetrics().auc() - 0.06);
  }
}
