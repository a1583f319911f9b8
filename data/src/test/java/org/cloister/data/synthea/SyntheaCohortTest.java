package org.cloister.data.synthea;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.data.DataFormatException;
import org.cloister.data.Dataset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheaCohortTest {
  private static final String PATIENTS = """
      Id,BIRTHDATE,DEATHDATE,FIRST,LAST,GENDER,BIRTHPLACE
      p1,1960-01-01,,Ann,"Smith, Jr.",F,"Boston, Massachusetts, US"
      p2,1980-06-30,2020-06-30,Bob,Lee,M,Springfield
      kid,2015-01-01,,Cal,Kid,M,Boston
      """;
  private static final String CONDITIONS = """
      START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION
      2010-01-01,,p1,e1,SNOMED-CT,44054006,"Diabetes mellitus type 2 (disorder)"
      2012-01-01,,p2,e2,SNOMED-CT,59621000,Essential hypertension (disorder)
      """;
  private static final String OBSERVATIONS = """
      DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE
      2019-01-01T10:00:00Z,p1,e1,vital-signs,39156-5,"Body mass index (BMI) [Ratio]",31.5,kg/m2,numeric
      2020-01-01T10:00:00Z,p1,e1,vital-signs,39156-5,"Body mass index (BMI) [Ratio]",33.0,kg/m2,numeric
      2018-01-01T10:00:00Z,p1,e1,laboratory,4548-4,"Hemoglobin A1c/Hemoglobin.total in Blood",7.1,%,numeric
      2019-05-01T10:00:00Z,p2,e2,vital-signs,8480-6,Systolic Blood Pressure,141,mm[Hg],numeric
      2020-01-01T10:00:00Z,p2,e2,vital-signs,72166-2,Tobacco smoking status,"Never smoked, tobacco",,text
      2022-12-31T10:00:00Z,kid,e3,vital-signs,39156-5,BMI,17,kg/m2,numeric
      """;

  private static Path export(Path dir, String patients, String conditions, String observations) throws Exception {
    Files.createDirectories(dir.resolve("csv"));
    Files.writeString(dir.resolve("csv/patients.csv"), patients);
    Files.writeString(dir.resolve("csv/conditions.csv"), conditions);
    Files.writeString(dir.resolve("csv/observations.csv"), observations);
    return dir;
  }

  /** Found by CsvFuzzTest: an observation DATE shorter than a date escaped as StringIndexOutOfBoundsException. */
  @Test
  void anObservationDateThatIsNoDateIsAnErrorNamingTheLine(@TempDir Path tmp) throws Exception {
    export(tmp.resolve("site-1"), PATIENTS, CONDITIONS, "DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE\n"
        + "AA,p1,e1,vital-signs,39156-5,BMI,31.5,kg/m2,numeric\n");
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new SyntheaCohort("diabetes").load(tmp))
        .isInstanceOf(org.cloister.data.DataFormatException.class)
        .hasMessageContaining("observations.csv: column DATE is not a date (YYYY-MM-DD)");
  }

  @Test
  void oneRowPerAdultWithLatestValuesAndTheOutcome(@TempDir Path tmp) throws Exception {
    export(tmp.resolve("site-1"), PATIENTS, CONDITIONS, OBSERVATIONS);
    SyntheaCohort.Cohort c = new SyntheaCohort("diabetes").load(tmp);
    Dataset d = c.dataset();
    assertThat(c.siteNames()).containsExactly("site-1");
    assertThat(d.size()).isEqualTo(2); // the child is left out
    assertThat(d.featureNames()).startsWith("age_years", "male", "bmi", "systolic_bp").contains("hba1c");
    assertThat(d.labelName()).isEqualTo("diabetes");
    int bmi = d.featureNames().indexOf("bmi");
    int sbp = d.featureNames().indexOf("systolic_bp");
    int hba1c = d.featureNames().indexOf("hba1c");
    // p1: alive, age at the cohort's latest observation date (2022-12-31); latest BMI wins
    assertThat(d.features()[0][0]).isCloseTo(63.0, org.assertj.core.data.Offset.offset(0.01));
    assertThat(d.features()[0][1]).isEqualTo(0.0);
    assertThat(d.features()[0][bmi]).isEqualTo(33.0);
    assertThat(d.features()[0][hba1c]).isEqualTo(7.1);
    assertThat(d.features()[0][sbp]).isNaN();
    assertThat(d.labels()[0]).isEqualTo(1);
    // p2: age at death, hypertension is not the outcome
    assertThat(d.features()[1][0]).isCloseTo(40.0, org.assertj.core.data.Offset.offset(0.01));
    assertThat(d.features()[1][1]).isEqualTo(1.0);
    assertThat(d.features()[1][sbp]).isEqualTo(141.0);
    assertThat(d.labels()[1]).isEqualTo(0);

    SyntheaCohort.Cohort h = new SyntheaCohort("hypertension").load(tmp);
    assertThat(h.dataset().labels()).containsExactly(0, 1);
    assertThat(new SyntheaCohort("snomed:44054006+59621000").load(tmp).dataset().labels()).containsExactly(1, 1);
  }

  @Test
  void siteFoldersBecomeSitesInNaturalOrder(@TempDir Path tmp) throws Exception {
    for (String s : new String[] {"site-10", "site-2", "site-1"}) {
      export(tmp.resolve(s), PATIENTS, CONDITIONS, OBSERVATIONS);
    }
    SyntheaCohort.Cohort c = new SyntheaCohort("diabetes").load(tmp);
    assertThat(c.siteNames()).containsExactly("site-1", "site-2", "site-10");
    assertThat(c.siteOfRow()).containsExactly(0, 0, 1, 1, 2, 2);
  }

  @Test
  void badInputIsRefusedNamingFileLineAndColumn(@TempDir Path tmp) throws Exception {
    assertThatThrownBy(() -> new SyntheaCohort("cancer")).hasMessageContaining("unknown Synthea outcome 'cancer'");
    assertThatThrownBy(() -> new SyntheaCohort("snomed:abc")).hasMessageContaining("numeric SNOMED CT codes");
    assertThatThrownBy(() -> new SyntheaCohort("diabetes").load(tmp)).hasMessageContaining("has no patients.csv");

    export(tmp.resolve("a"), PATIENTS.replace(",M,Springfield", ",X,Springfield"), CONDITIONS, OBSERVATIONS);
    assertThatThrownBy(() -> new SyntheaCohort("diabetes").load(tmp.resolve("a")))
        .isInstanceOf(DataFormatException.class).hasMessageContaining("line 3").hasMessageContaining("column GENDER");

    export(tmp.resolve("b"), PATIENTS, CONDITIONS, OBSERVATIONS.replace(",141,", ",high,"));
    assertThatThrownBy(() -> new SyntheaCohort("diabetes").load(tmp.resolve("b")))
        .isInstanceOf(DataFormatException.class).hasMessageContaining("line 5").hasMessageContaining("LOINC 8480-6")
        .hasMessageNotContaining("high"); // values are never echoed

    export(tmp.resolve("c"), PATIENTS.replace("BIRTHDATE", "BORN"), CONDITIONS, OBSERVATIONS);
    assertThatThrownBy(() -> new SyntheaCohort("diabetes").load(tmp.resolve("c"))).hasMessageContaining("no column BIRTHDATE");
  }

  @Test
  void splitsQuotedFields() {
    try (org.cloister.data.CsvRows rows = new org.cloister.data.CsvRows(new java.io.StringReader("a,\"b, c\",\"d \"\"e\"\"\",\n"))) {
      assertThat(rows.next().fields()).containsExactly("a", "b, c", "d \"e\"", "");
    }
  }
}
