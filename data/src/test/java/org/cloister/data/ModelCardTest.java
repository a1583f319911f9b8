package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ModelCardTest {

  @Test
  void theWdbcCardTransformsRawRowsExactlyAsTheSitesTrainingDid() {
    ModelCard card = BuiltinDatasets.wdbcCard("wdbc-study-1");
    Dataset raw = BuiltinDatasets.wdbc();
    Dataset trained = BuiltinDatasets.wdbcPreprocessing().resolvePublic().apply(raw);
    // the data holds values outside the declared bounds (e.g. a concavity of 0 on a log scale): training clamped them
    assertThat(card.check(raw.features(), true)).isPositive();
    assertThatThrownBy(() -> card.check(raw.features())).hasMessageContaining("outside the study's declared range");
    double[][] applied = card.apply(raw.features(), true);
    for (int i = 0; i < raw.size(); i++) {
      assertThat(applied[i]).containsExactly(trained.features()[i]);
    }
    assertThat(card.featureNames()).isEqualTo(raw.featureNames());
    assertThat(card.classNames()).containsExactly("benign", "malignant");
    assertThat(card.classes().get(1).label()).isEqualTo("1");
  }

  @Test
  void theCanonicalJsonRoundTripsAndItsDigestChangesWithAnyRule() {
    ModelCard card = BuiltinDatasets.wdbcCard("s");
    ModelCard back = ModelCard.parse(card.toJson(), "test");
    assertThat(back).isEqualTo(card);
    assertThat(back.sha256()).isEqualTo(card.sha256());
    String altered = new String(card.toJson(), StandardCharsets.UTF_8).replaceFirst("\"hi\" : [0-9.]+", "\"hi\" : 1000.0");
    assertThat(ModelCard.parse(altered.getBytes(StandardCharsets.UTF_8), "test").sha256()).isNotEqualTo(card.sha256());
  }

  @Test
  void aWrongFeatureCountAValueOutsideTheDeclaredRangeAndAMissingValueAreRefusedNamingTheColumn() {
    ModelCard card = BuiltinDatasets.wdbcCard("s");
    double[] row = BuiltinDatasets.wdbc().features()[0].clone();
    assertThatThrownBy(() -> card.check(new double[][] {Arrays.copyOf(row, 29)}))
        .hasMessage("row 1: the model expects 30 features (radius_mean .. fractal_dimension_worst), the data has 29");
    double[] far = row.clone();
    far[0] = 1_000; // radius in micrometres instead of millimetres
    assertThatThrownBy(() -> card.apply(new double[][] {row, far}))
        .hasMessageStartingWith("row 2, column 1 ('radius_mean'): 1000.0 is outside the study's declared range [");
    double[] missing = row.clone();
    missing[4] = Double.NaN;
    assertThatThrownBy(() -> card.check(new double[][] {missing}))
        .hasMessageStartingWith("row 1, column 5 ('smoothness_mean'): missing");
  }

  @Test
  void aLogScaledFeatureIsCheckedOnTheRawScaleAtItsDeclaredBounds() {
    ModelCard card = ModelCard.of("s", new StudySchema(List.of("crp"), "y", List.of("0", "1")),
        new PreprocessingSpec(List.of(FeatureRule.logBounds("crp", 0.1, 300))), null);
    card.check(new double[][] {{0.1}, {300}, {5}});
    assertThatThrownBy(() -> card.check(new double[][] {{301}})).hasMessageContaining("[0.1, 300]");
    assertThat(card.classNames()).containsExactly("0", "1");
  }

  @Test
  void aPrivatelyStandardizedFeatureHasNoPublicTransformToApply() {
    ModelCard card = ModelCard.of("s", new StudySchema(List.of("glucose"), "y", List.of("0", "1")),
        new PreprocessingSpec(List.of(FeatureRule.privateWithin("glucose", 40, 400))), null);
    assertThat(ModelCard.parse(card.toJson(), "t")).isEqualTo(card);
    assertThatThrownBy(() -> card.apply(new double[][] {{100}})).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("[glucose]").hasMessageContaining("private estimate");
  }

  @Test
  void anUnknownFieldOrFormatIsRefusedNamingTheSource() {
    assertThatThrownBy(() -> ModelCard.parse("{\"format\":\"x\"}".getBytes(StandardCharsets.UTF_8), "kits/site-1/model-card.json"))
        .hasMessageStartingWith("kits/site-1/model-card.json: not a valid model card");
  }
}
