package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import org.junit.jupiter.api.Test;

class CsvDatasetLoaderTest {

  private static CsvLoadResult load(String csv, BadRowPolicy policy) {
    return new CsvDatasetLoader("y", policy).load(new StringReader(csv));
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
}
