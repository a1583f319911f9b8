package org.cloister.data;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.cloister.data.synthea.SyntheaCohort;

/**
 * The CSV loaders read files a hospital exports (its dataset, a Synthea export): whatever the text,
 * loading either succeeds or fails with a {@link DataFormatException} or an
 * {@link IllegalArgumentException} naming what is wrong, never another exception. Half the inputs
 * are a valid file (the first rows of WDBC, a small Synthea export) with fuzzer edits.
 */
class CsvFuzzTest {
  private static final String WDBC = wdbcHead(12);
  private static final StudySchema SCHEMA = schema(WDBC);
  private static final String PATIENTS = """
      Id,BIRTHDATE,DEATHDATE,FIRST,LAST,GENDER,BIRTHPLACE
      p1,1960-01-01,,Ann,"Smith, Jr.",F,"Boston, Massachusetts, US"
      p2,1980-06-30,2020-06-30,Bob,Lee,M,Springfield
      """;
  private static final String CONDITIONS = """
      START,STOP,PATIENT,ENCOUNTER,SYSTEM,CODE,DESCRIPTION
      2010-01-01,,p1,e1,SNOMED-CT,44054006,"Diabetes mellitus type 2 (disorder)"
      """;
  private static final String OBSERVATIONS = """
      DATE,PATIENT,ENCOUNTER,CATEGORY,CODE,DESCRIPTION,VALUE,UNITS,TYPE
      2019-01-01T10:00:00Z,p1,e1,vital-signs,39156-5,"Body mass index (BMI) [Ratio]",31.5,kg/m2,numeric
      2019-05-01T10:00:00Z,p2,e2,vital-signs,8480-6,Systolic Blood Pressure,141,mm[Hg],numeric
      """;
  private static final Path EXPORT = tempExport();

  private static String wdbcHead(int rows) {
    try (InputStream in = CsvFuzzTest.class.getResourceAsStream("/org/cloister/data/datasets/wdbc.csv")) {
      return String.join("\n", new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().limit(rows + 1).toList()) + "\n";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static StudySchema schema(String csv) {
    List<String> cols = Arrays.asList(csv.lines().findFirst().orElseThrow().split(","));
    return new StudySchema(cols.stream().filter(c -> !c.equals("malignant")).toList(), "malignant", List.of("0", "1"));
  }

  private static Path tempExport() {
    try {
      Path dir = Files.createTempDirectory("synthea-fuzz");
      Files.createDirectories(dir.resolve("csv"));
      dir.toFile().deleteOnExit();
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Raw fuzzer text, or {@code valid} with up to 8 edits (overwritten characters, truncation, inserted runs). */
  static String mutate(FuzzedDataProvider d, String valid) {
    if (!d.consumeBoolean()) {
      return d.consumeString(4096);
    }
    StringBuilder out = new StringBuilder(valid);
    for (int i = d.consumeInt(1, 8); i > 0 && d.remainingBytes() > 0; i--) {
      switch (d.consumeInt(0, 2)) {
        case 0 -> {
          if (out.length() > 0) {
            out.setCharAt(d.consumeInt(0, out.length() - 1), d.consumeChar());
          }
        }
        case 1 -> out.setLength(d.consumeInt(0, out.length()));
        default -> out.insert(d.consumeInt(0, out.length()), d.pickValue(new String[] {",", "\"", "\n", "\r\n", "NaN",
            "-Infinity", "1e309", "", ",,", "\"\"", "malignant", d.consumeString(16)}));
      }
    }
    return out.toString();
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void datasetCsv(FuzzedDataProvider d) {
    String text = mutate(d, WDBC);
    BadRowPolicy policy = d.consumeBoolean() ? BadRowPolicy.SKIP : BadRowPolicy.FAIL;
    CsvDatasetLoader loader = d.consumeBoolean() ? new CsvDatasetLoader(SCHEMA, policy) : CsvDatasetLoader.inferringClasses("malignant", policy);
    try {
      loader.load(new StringReader(text));
    } catch (DataFormatException | IllegalArgumentException refused) {
      if (refused.getMessage() == null || refused.getMessage().isBlank()) {
        throw new AssertionError("refused without saying why", refused);
      }
    }
  }

  @FuzzTest(maxDuration = "10m", maxExecutions = 100_000)
  void syntheaExport(FuzzedDataProvider d) throws IOException {
    int which = d.consumeInt(0, 2);
    String edited = mutate(d, which == 0 ? PATIENTS : which == 1 ? CONDITIONS : OBSERVATIONS);
    Files.writeString(EXPORT.resolve("csv/patients.csv"), which == 0 ? edited : PATIENTS);
    Files.writeString(EXPORT.resolve("csv/conditions.csv"), which == 1 ? edited : CONDITIONS);
    Files.writeString(EXPORT.resolve("csv/observations.csv"), which == 2 ? edited : OBSERVATIONS);
    try {
      new SyntheaCohort("diabetes").load(EXPORT);
    } catch (DataFormatException | IllegalArgumentException refused) {
      if (refused.getMessage() == null || refused.getMessage().isBlank()) {
        throw new AssertionError("refused without saying why", refused);
      }
    }
  }
}
