package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.List;
import org.junit.jupiter.api.Test;

/** CSV as spreadsheets write it, read through Commons CSV (CsvRows): the old comma split failed each of these. */
class MessyCsvTest {
  private static final StudySchema STUDY = new StudySchema(List.of("age", "bmi"), "outcome",
      List.of("benign", "malignant, confirmed"));

  private static CsvLoadResult load(String csv) {
    return new CsvDatasetLoader(STUDY, BadRowPolicy.FAIL).load(new StringReader(csv));
  }

  @Test
  void aQuotedLabelMayHoldACommaAndADoubledQuote() {
    Dataset d = load("age,bmi,outcome\n50,21.5,\"malignant, confirmed\"\n40,30,benign\n").dataset();
    assertThat(d.labels()).containsExactly(1, 0);
    CsvLoadResult r = CsvDatasetLoader.inferringClasses("y", BadRowPolicy.FAIL)
        .load(new StringReader("a,y\n1,\"say \"\"yes\"\"\"\n2,no\n"));
    assertThat(r.dataset().classNames()).containsExactly("no", "say \"yes\"");
  }

  @Test
  void aByteOrderMarkAndCrlfLineEndsAreNotPartOfTheData() {
    Dataset d = load("\uFEFFage,bmi,outcome\r\n50,21.5,benign\r\n40,30,benign\r\n").dataset();
    assertThat(d.featureNames()).containsExactly("age", "bmi");
    assertThat(d.features()[1]).containsExactly(40.0, 30.0);
  }

  @Test
  void spacesAroundValuesAndQuotedNumbersReadAsTheValue() {
    Dataset d = load("age , bmi , outcome\n 50 , \"21.5\" , benign \n").dataset();
    assertThat(d.features()[0]).containsExactly(50.0, 21.5);
    assertThat(d.labels()).containsExactly(0);
  }

  @Test
  void errorsNameTheLineARecordStartsOnEvenAfterAQuotedLineBreak() {
    assertThatThrownBy(() -> CsvDatasetLoader.inferringClasses("y", BadRowPolicy.FAIL)
        .load(new StringReader("a,y\n1,\"two\nlines\"\n2,no\nz,no\n")))
        .isInstanceOf(DataFormatException.class)
        .hasMessageContaining("line 5").hasMessageContaining("column 'a'");
    assertThatThrownBy(() -> load("age,bmi,outcome\n50,21.5,benign\n40,30,\"benign\n"))
        .isInstanceOf(DataFormatException.class).hasMessageContaining("line 3").hasMessageContaining("malformed CSV");
  }
}
