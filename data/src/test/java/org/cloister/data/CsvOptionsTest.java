package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Messy CSVs a study declares how to read: delimiter, identifier columns, missing values and their rule. */
class CsvOptionsTest {

  private static CsvLoadResult load(CsvOptions o, String csv) {
    return CsvDatasetLoader.inferringClasses("y", BadRowPolicy.FAIL).withOptions(o).load(new StringReader(csv));
  }

  private static CsvOptions opts(char delimiter, List<String> ignore, List<String> tokens, MissingRule missing,
                                 Map<String, MissingRule> by) {
    return new CsvOptions(delimiter, ignore, tokens, missing, by);
  }

  @Test
  void aSemicolonFileWithAnIdentifierColumnReadsAsItsFeaturesOnly() {
    Dataset d = load(opts(';', List.of("patient_id"), List.of(), MissingRule.FAIL, Map.of()),
        "patient_id;age;bmi;y\nP-001;50;21.5;1\nP-002;40;30;0\n").dataset();
    assertThat(d.featureNames()).containsExactly("age", "bmi");
    assertThat(d.features()[0]).containsExactly(50.0, 21.5);
    assertThat(d.labels()).containsExactly(1, 0);
    Dataset tabs = load(opts(CsvOptions.delimiter("tab"), List.of(), List.of(), MissingRule.FAIL, Map.of()),
        "age\tbmi\ty\n50\t21.5\t1\n40\t30\t0\n").dataset();
    assertThat(tabs.features()[1]).containsExactly(40.0, 30.0);
  }

  @Test
  void byDefaultAMissingValueIsAnErrorNamingLineAndColumnAndHowToAcceptIt() {
    assertThatThrownBy(() -> load(CsvOptions.DEFAULT, "age,bmi,y\n50,21.5,1\n40,,0\n"))
        .isInstanceOf(DataFormatException.class)
        .hasMessageContaining("line 3").hasMessageContaining("column 'bmi'").hasMessageContaining("missing value")
        .hasMessageContaining("skip, centre or constant");
    // a token is missing only when declared; otherwise it is not a number, with the hint
    assertThatThrownBy(() -> load(CsvOptions.DEFAULT, "age,bmi,y\n50,NA,1\n40,30,0\n"))
        .hasMessageContaining("line 2").hasMessageContaining("column 'bmi'").hasMessageContaining("not a number: 'NA'")
        .hasMessageContaining("missing-value tokens");
    // a value that may be a patient's identifier or data is never echoed: its column and line are named
    assertThatThrownBy(() -> load(CsvOptions.DEFAULT, "id,bmi,y\nP0042,21.5,1\n"))
        .hasMessageContaining("line 2").hasMessageContaining("column 'id'").hasMessageNotContaining("P0042")
        .hasMessageContaining("not shown").hasMessageContaining("columns to ignore");
    // the wrong delimiter is named as the likely cause
    assertThatThrownBy(() -> load(CsvOptions.DEFAULT, "age;bmi;y\n50;1;1\n"))
        .hasMessageContaining("line 1").hasMessageContaining("set the delimiter");
  }

  @Test
  void skipDropsRowsWithAMissingValueOrLabelAndCountsThem() {
    CsvLoadResult r = load(opts(',', List.of(), List.of("NA", "?"), MissingRule.SKIP, Map.of()),
        "age,bmi,y\n50,21.5,1\n40,NA,0\n?,30,1\n41,31,\n42,32,0\n");
    assertThat(r.dataset().size()).isEqualTo(2);
    assertThat(r.skippedRows()).extracting(DataFormatException::line).containsExactly(3L, 4L, 5L);
    assertThat(r.skippedRows().get(0)).hasMessageContaining("column 'bmi'");
    assertThat(r.skippedRows().get(2)).hasMessageContaining("missing label");
    assertThat(r.filled()).isEmpty();
  }

  @Test
  void centreAndConstantFillPerColumnFromDeclaredValuesOnly() {
    PreprocessingSpec spec = new PreprocessingSpec(List.of(FeatureRule.bounds("age", 20, 80), FeatureRule.bounds("bmi", 15, 45)));
    CsvOptions o = opts(',', List.of(), List.of("NA"), MissingRule.CENTRE, Map.of("bmi", MissingRule.parse("constant:25")));
    String csv = "age,bmi,y\n50,21.5,1\nNA,NA,0\n70,40,1\n";
    CsvLoadResult r = load(o, csv);
    assertThat(r.filled()).containsEntry("age", 1).containsEntry("bmi", 1);
    Dataset in = spec.resolvePublic().apply(r.dataset());
    // age missing -> the declared centre (midpoint 50): input 0; bmi missing -> 25: (25 - 30) / 7.5
    assertThat(in.features()[1][0]).isEqualTo(0.0);
    assertThat(in.features()[1][1]).isEqualTo((25 - 30) / 7.5);
    // no peeking: the filled values do not move when other rows change (no data-dependent statistic)
    CsvLoadResult other = load(o, "age,bmi,y\n20,15,1\nNA,NA,0\n80,45,1\n");
    assertThat(spec.resolvePublic().apply(other.dataset()).features()[1]).containsExactly(in.features()[1]);
  }

  @Test
  void aPrivateFeaturesCentreIsTheDpReleasedMeanOfTheObservedValues() {
    PreprocessingSpec spec = new PreprocessingSpec(List.of(FeatureRule.privateWithin("age", 0, 100)));
    CsvLoadResult r = load(opts(',', List.of(), List.of(), MissingRule.CENTRE, Map.of()),
        "age,y\n20,1\n40,0\n,1\n60,0\n");
    Dataset raw = r.dataset();
    // without noise (sigma 0) the release is exact: mean of 20, 40, 60 = 40 -> centre 40
    Preprocessing p = PrivateFeatureStats.resolve(spec, raw.featureNames(),
        List.of(PrivateFeatureStats.release(raw, spec, 0, org.cloister.dp.noise.SecureGaussianNoise.seeded(1))));
    assertThat(p.transforms().get(0).centre()).isCloseTo(40.0, org.assertj.core.data.Offset.offset(1e-9));
    assertThat(p.apply(raw).features()[2][0]).isEqualTo(0.0);
  }

  @Test
  void badDeclarationsAreErrorsNamingWhatIsWrong() {
    assertThatThrownBy(() -> load(opts(',', List.of("mrn"), List.of(), MissingRule.FAIL, Map.of()), "age,y\n1,0\n"))
        .hasMessageContaining("'mrn'").hasMessageContaining("not in header");
    assertThatThrownBy(() -> load(opts(',', List.of("y"), List.of(), MissingRule.FAIL, Map.of()), "age,y\n1,0\n"))
        .hasMessageContaining("is the label");
    assertThatThrownBy(() -> load(opts(',', List.of(), List.of(), MissingRule.FAIL, Map.of("bmi", MissingRule.SKIP)),
        "age,y\n1,0\n")).hasMessageContaining("'bmi'").hasMessageContaining("not a feature column");
    assertThatThrownBy(() -> MissingRule.parse("mean")).hasMessageContaining("unknown missing-value rule 'mean'")
        .hasMessageContaining("constant:VALUE");
    assertThatThrownBy(() -> MissingRule.parse("constant:x")).hasMessageContaining("'x' is not a number");
    assertThatThrownBy(() -> CsvOptions.delimiter(";;")).hasMessageContaining("one character");
    assertThatThrownBy(() -> opts(',', List.of(), List.of("-1"), MissingRule.SKIP, Map.of()))
        .hasMessageContaining("'-1' is a number");
  }
}
