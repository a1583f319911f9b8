package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.junit.jupiter.api.Test;

/** Issue 12 item 2: one patient's inputs never depend on the other patients' records. */
class PreprocessingTest {
  private final Dataset wdbc = BuiltinDatasets.wdbc();

  /** WDBC plus one patient with extreme values in every feature. */
  private Dataset withOutlier() {
    double[][] f = Arrays.copyOf(wdbc.features(), wdbc.size() + 1);
    double[] extreme = new double[wdbc.numFeatures()];
    Arrays.fill(extreme, 1e6);
    f[wdbc.size()] = extreme;
    int[] l = Arrays.copyOf(wdbc.labels(), wdbc.size() + 1);
    return new Dataset(wdbc.featureNames(), wdbc.labelName(), wdbc.classNames(), f, l);
  }

  @Test
  void addingOnePatientMovesNoOtherRecordsInputs() {
    Preprocessing p = BuiltinDatasets.wdbcPreprocessing().resolvePublic();
    Dataset before = p.apply(wdbc);
    Dataset after = p.apply(withOutlier());
    for (int i = 0; i < wdbc.size(); i++) {
      assertThat(after.features()[i]).containsExactly(before.features()[i]);
    }
    // the added patient is clamped to the public bounds: each input within [-2, 2], whatever it measured
    assertThat(Arrays.stream(after.features()[wdbc.size()]).boxed().toList()).allSatisfy(v -> assertThat(v).isCloseTo(2.0, org.assertj.core.data.Offset.offset(1e-12)));
    // what the old code did (statistics fitted on the records themselves) moves every record
    Dataset oldBefore = Standardizer.fit(wdbc).apply(wdbc);
    Dataset oldAfter = Standardizer.fit(withOutlier()).apply(withOutlier());
    assertThat(oldAfter.features()[0][0]).isNotEqualTo(oldBefore.features()[0][0]);
  }

  @Test
  void missingValuesAreTheCentreAndRulesMustCoverExactlyTheFeatures() {
    Preprocessing p = new PreprocessingSpec(List.of(FeatureRule.bounds("a", 0, 10), FeatureRule.affine("b", 5, 2)))
        .resolvePublic();
    Dataset d = new Dataset(List.of("a", "b"), "y", List.of("0", "1"),
        new double[][] {{Double.NaN, 9}, {-3, Double.NaN}, {12, 1e9}}, new int[] {0, 1, 0});
    Dataset out = p.apply(d);
    assertThat(out.features()[0]).containsExactly(0.0, 2.0);
    assertThat(out.features()[1]).containsExactly(-2.0, 0.0);
    assertThat(out.features()[2][0]).isEqualTo(2.0); // clamped; an affine rule without bounds does not clamp
    assertThatThrownBy(() -> new PreprocessingSpec(List.of(FeatureRule.bounds("a", 0, 1))).orderedFor(List.of("a", "b")))
        .hasMessageContaining("no rule for feature 'b'");
    assertThatThrownBy(() -> PreprocessingSpec.parse(Map.of("a", Map.of("bounds", List.of(3, 1))), "s.yaml"))
        .hasMessageContaining("s.yaml: preprocessing.a").hasMessageContaining("lo < hi");
  }

  @Test
  void privateStatisticsMoveByAtMostTheirSensitivityAndAreAGaussianEvent() {
    PreprocessingSpec spec = new PreprocessingSpec(wdbc.featureNames().stream()
        .map(f -> FeatureRule.privateWithin(f, 0, 5000)).toList());
    // exact statistics (noise 0) of neighbouring datasets: the released vector moves by <= sqrt(1 + 2d)
    PrivateFeatureStats a = PrivateFeatureStats.release(wdbc, spec, 0, SecureGaussianNoise.seeded(1));
    PrivateFeatureStats b = PrivateFeatureStats.release(withOutlier(), spec, 0, SecureGaussianNoise.seeded(1));
    double sq = Math.pow(a.count() - b.count(), 2);
    for (int k = 0; k < wdbc.numFeatures(); k++) {
      sq += Math.pow(a.sum()[k] - b.sum()[k], 2) + Math.pow(a.sumSq()[k] - b.sumSq()[k], 2)
          + Math.pow(a.missing()[k] - b.missing()[k], 2);
    }
    assertThat(Math.sqrt(sq)).isLessThanOrEqualTo(Math.sqrt(1 + 2.0 * wdbc.numFeatures()) + 1e-9);
    assertThat(PrivateFeatureStats.event(3.0)).isEqualTo(new GaussianEvent(3.0));
    // a noisy release still gives a usable transform: every estimated scale positive, inside the bounds
    PrivateFeatureStats noisy = PrivateFeatureStats.release(wdbc, spec, 2.0, SecureGaussianNoise.seeded(7));
    Preprocessing p = PrivateFeatureStats.resolve(spec, wdbc.featureNames(), List.of(noisy));
    assertThat(p.transforms()).allSatisfy(t -> {
      assertThat(t.scale()).isPositive();
      assertThat(t.centre()).isBetween(0.0, 5000.0);
    });
    // the noise multiplier for 10 % of epsilon 2 at delta 1e-5 is the one a single Gaussian release needs
    assertThat(PrivateFeatureStats.calibratedNoise(2.0, 1e-5)).isBetween(15.0, 25.0);
  }

  @Test
  void logRulesAreAppliedAsDeclaredAndStayPerRecord() {
    PreprocessingSpec spec = BuiltinDatasets.wdbcPreprocessing();
    Preprocessing p = spec.resolvePublic();
    int area = wdbc.featureNames().indexOf("area_mean");
    int radius = wdbc.featureNames().indexOf("radius_mean");
    FeatureRule areaRule = spec.orderedFor(wdbc.featureNames()).rules().get(area);
    assertThat(areaRule.transform()).isEqualTo(FeatureRule.Transform.LOG);
    assertThat(spec.orderedFor(wdbc.featureNames()).rules().get(radius).transform()).isEqualTo(FeatureRule.Transform.IDENTITY);
    // area_mean is declared log in [100, 2600]: input = (log x - mid) / quarter, mid and quarter of [log 100, log 2600]
    double a = Math.log(100);
    double b = Math.log(2600);
    FeatureTransform t = p.transforms().get(area);
    assertThat(t.apply(500)).isCloseTo((Math.log(500) - (a + b) / 2) / ((b - a) / 4), org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.apply(100)).isCloseTo(-2.0, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.apply(0)).isCloseTo(-2.0, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.apply(-5)).isCloseTo(-2.0, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.apply(1e9)).isCloseTo(2.0, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.apply(Double.POSITIVE_INFINITY)).isCloseTo(2.0, org.assertj.core.data.Offset.offset(1e-12));
    assertThat(t.apply(Double.NaN)).isZero();
    // the log map spreads the typical patients: the middle half of WDBC's areas covers more of [-2, 2] than linear bounds did
    double[] col = Arrays.stream(p.apply(wdbc).features()).mapToDouble(r -> r[area]).sorted().toArray();
    double iqr = col[col.length * 3 / 4] - col[col.length / 4];
    double[] lin = Arrays.stream(wdbc.features())
        .mapToDouble(r -> new FeatureTransform(100, 2600, 1350, 625, FeatureRule.Transform.IDENTITY).apply(r[area])).sorted().toArray();
    assertThat(iqr).isGreaterThan(1.2 * (lin[lin.length * 3 / 4] - lin[lin.length / 4]));
    // zero and negative values (e.g. a concavity of 0) are clamped to lo, never NaN
    int concavitySe = wdbc.featureNames().indexOf("concavity_se");
    assertThat(Arrays.stream(p.apply(wdbc).features()).mapToDouble(r -> r[concavitySe])).allSatisfy(v -> assertThat(v).isBetween(-2.0, 2.0));
  }

  @Test
  void logBoundsNeedAPositiveFloorAndParseFromTheStudyFile() {
    assertThatThrownBy(() -> FeatureRule.logBounds("crp", 0, 300)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("crp").hasMessageContaining("0 < lo < hi");
    PreprocessingSpec spec = PreprocessingSpec.parse(Map.of("crp", Map.of("log_bounds", List.of(0.1, 300))), "study");
    assertThat(spec.rules()).singleElement().isEqualTo(FeatureRule.logBounds("crp", 0.1, 300));
    assertThatThrownBy(() -> PreprocessingSpec.parse(Map.of("crp", Map.of("log_bounds", List.of(0.1, 300), "centre", 1)), "study"))
        .hasMessageContaining("log_bounds");
  }
}
