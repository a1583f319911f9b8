package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import org.junit.jupiter.api.Test;

class CsvDatasetLoaderTest {

  private static CsvLoadResult load(String csv, BadRowPolicy policy) {
    return CsvDatasetLoader.inferringClasses("y", policy).load(new StringReader(csv));
  }

  @Test
  void loadsFeaturesAndMapsLabelsInNumericOrder() {
    CsvLoadResult r = load("a,y,b\n1.5,1,2\n3,0,4\n5,1,6\n", BadRowPolicy.FAIL);
    Dataset d = r.dataset();
    assertThat(d.featureNames()).containsExactly("a", "b");
    assertThat(d.classNames()).containsExactly("0", "1");
    assertThat(d.features()[0]).containsExactly(1.5, 2.0);
    assertThat(d.labels()).containsExactly(1, 0, 1);
    assertThat(r.skippedRows()).isEmpty();
  }

  @Test
  void nonNumericFeatureNamesLineAndColumn() {
    assertThatThrownBy(() -> load("a,y,b\n1,1,2\n3,0,oops\n", BadRowPolicy.FAIL))
        .isInstanceOf(DataFormatException.class)
        .hasMessageContaining("line 3")
        .hasMessageContaining("column 'b'")
        .hasMessageContaining("oops");
  }

  @Test
  void wrongColumnCountAndNaNAndMissingAreErrors() {
    assertThatThrownBy(() -> load("a,y\n1,1\n1,0,3\n", BadRowPolicy.FAIL))
        .hasMessageContaining("line 3").hasMessageContaining("expected 2 columns but found 3");
    assertThatThrownBy(() -> load("a,y\n1,1\nNaN,0\n", BadRowPolicy.FAIL))
        .hasMessageContaining("line 3").hasMessageContaining("not a finite number");
    assertThatThrownBy(() -> load("a,y\n,1\n2,0\n", BadRowPolicy.FAIL))
        .hasMessageContaining("line 2").hasMessageContaining("missing value");
  }

  @Test
  void skipPolicyReportsEveryBadLineAndKeepsTheRest() {
    CsvLoadResult r = load("a,y\n1,1\nx,0\n2,0\n3\n4,1\n", BadRowPolicy.SKIP);
    assertThat(r.dataset().size()).isEqualTo(3);
    assertThat(r.skippedRows()).extracting(DataFormatException::line).containsExactly(3L, 5L);
  }

  @Test
  void missingLabelColumnIsNamed() {
    assertThatThrownBy(() -> load("a,b\n1,2\n", BadRowPolicy.FAIL))
        .hasMessageContaining("label column 'y' not in header");
  }

  @Test
  void builtinWdbcHas569PatientsAnd30Features() {
    Dataset d = BuiltinDatasets.wdbc();
    assertThat(d.size()).isEqualTo(569);
    assertThat(d.numFeatures()).isEqualTo(30);
    assertThat(d.classCounts()).containsExactly(357, 212);
    assertThat(d.featureNames().get(0)).isEqualTo("radius_mean");
  }

  // ---- issue 12 item 3: the label set and the features come from the study

  private static final StudySchema STUDY = new StudySchema(java.util.List.of("b", "a"), "y", java.util.List.of("0", "1"));

  @Test
  void aRareLabelOutsideTheStudyIsAnErrorNamingItsLineAndNeverChangesTheShape() {
    String csv = "a,y,b\n1,1,2\n3,0,4\n5,2,6\n";
    assertThatThrownBy(() -> new CsvDatasetLoader(STUDY, BadRowPolicy.FAIL).load(new StringReader(csv)))
        .isInstanceOf(DataFormatException.class)
        .hasMessageContaining("line 4").hasMessageContaining("label '2' is not one of the study's classes [0, 1]");
    // skipped (and counted in the site's log) under the skip policy: the class list stays the study's
    CsvLoadResult r = new CsvDatasetLoader(STUDY, BadRowPolicy.SKIP).load(new StringReader(csv));
    assertThat(r.dataset().classNames()).containsExactly("0", "1");
    assertThat(r.skippedRows()).extracting(DataFormatException::line).containsExactly(4L);
    // today's loader would have made three classes of it (a 2x3 logistic regression instead of 2x2)
    assertThat(CsvDatasetLoader.inferringClasses("y", BadRowPolicy.FAIL).load(new StringReader(csv)).dataset().numClasses())
        .isEqualTo(3);
  }

  @Test
  void aSiteMissingAClassLocallyStillHasTheStudysClassesAndFeatureOrder() {
    Dataset d = new CsvDatasetLoader(STUDY, BadRowPolicy.FAIL).load(new StringReader("a,y,b\n1,1,2\n3,1,4\n")).dataset();
    assertThat(d.classNames()).containsExactly("0", "1");
    assertThat(d.labels()).containsExactly(1, 1);
    assertThat(d.featureNames()).containsExactly("b", "a");
    assertThat(d.features()[0]).containsExactly(2.0, 1.0);
  }

  @Test
  void anUnknownOrMissingFeatureColumnIsAnErrorOnTheHeaderLine() {
    assertThatThrownBy(() -> new CsvDatasetLoader(STUDY, BadRowPolicy.FAIL).load(new StringReader("a,y,b,c\n1,1,2,3\n")))
        .hasMessageContaining("line 1").hasMessageContaining("column 'c' is not a feature of the study");
    assertThatThrownBy(() -> new CsvDatasetLoader(STUDY, BadRowPolicy.FAIL).load(new StringReader("a,y\n1,1\n")))
        .hasMessageContaining("line 1").hasMessageContaining("the study's feature 'b' is not in header");
  }
}
