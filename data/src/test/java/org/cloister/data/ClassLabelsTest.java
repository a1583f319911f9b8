package org.cloister.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.StringReader;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class ClassLabelsTest {

  @Test
  void numericLabelsAreComparedAsNumbers() {
    for (String same : List.of("1", "1.0", " 1", "1 ", "+1", "1e0", "1.000", "01")) {
      assertThat(ClassLabels.normalise(same)).as(same).isEqualTo("1");
    }
    assertThat(ClassLabels.normalise("-0.0")).isEqualTo("0");
    assertThat(ClassLabels.normalise("10")).isEqualTo("10");
    assertThat(ClassLabels.normalise("1e1")).isEqualTo("10");
    assertThat(ClassLabels.normalise(" malignant ")).isEqualTo("malignant");
    assertThat(ClassLabels.normalise("NaN")).isEqualTo("NaN");
    assertThat(ClassLabels.normalise("Yes")).isNotEqualTo(ClassLabels.normalise("yes"));
  }

  @Test
  void theOrderIsTotalNumbersFirst() {
    List<String> labels = new ArrayList<>(List.of("b", "10", "9", "1a", "-1", "2.5", "a", "0"));
    Random rnd = new Random(7);
    for (int i = 0; i < 20; i++) {
      Collections.shuffle(labels, rnd);
      labels.sort(ClassLabels.ORDER);
      assertThat(labels).containsExactly("-1", "0", "2.5", "9", "10", "1a", "a", "b");
    }
  }

  @Test
  void everyLoaderPathAgreesOnOneSpellingPerClass() {
    // without a schema: "1", "1.0" and " 1" are one class, not three
    Dataset inferred = CsvDatasetLoader.inferringClasses("y", BadRowPolicy.FAIL)
        .load(new StringReader("x,y\n1,1\n2,1.0\n3, 1\n4,0\n5,0.0\n")).dataset();
    assertThat(inferred.classNames()).containsExactly("0", "1");
    assertThat(inferred.labels()).containsExactly(1, 1, 1, 0, 0);
    // with a study's schema: a site writing "1.0" for class "1" is not refused, and maps to the same index
    StudySchema schema = new StudySchema(List.of("x"), "y", List.of("0", "1"));
    Dataset site = new CsvDatasetLoader(schema, BadRowPolicy.FAIL)
        .load(new StringReader("x,y\n1,1.0\n2,0\n3,\"1\"\n")).dataset();
    assertThat(site.labels()).containsExactly(1, 0, 1);
    assertThat(site.classNames()).containsExactly("0", "1");
    // a label that is not a class is still refused, by line
    assertThatThrownBy(() -> new CsvDatasetLoader(schema, BadRowPolicy.FAIL)
        .load(new StringReader("x,y\n1,1\n2,2.0\n")))
        .hasMessageContaining("line 3").hasMessageContaining("not one of the study's classes");
    // and a schema cannot name one class twice in two spellings
    assertThatThrownBy(() -> new StudySchema(List.of("x"), "y", List.of("1", "1.0")))
        .hasMessageContaining("duplicate class labels");
  }
}
