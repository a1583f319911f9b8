package org.cloister.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Datasets shipped inside Cloister, so that demos and tests never download anything. */
public final class BuiltinDatasets {
  private BuiltinDatasets() {
  }

  /**
   * The Wisconsin Diagnostic Breast Cancer data: 569 patients, 30 features, label {@code malignant}
   * (1 = malignant). CC BY 4.0, UCI; see {@code wdbc.NOTICE.md} beside the resource.
   */
  public static Dataset wdbc() {
    try (InputStream in = resource("wdbc.csv")) {
      return new CsvDatasetLoader(wdbcSchema(), BadRowPolicy.FAIL)
          .load(new InputStreamReader(in, StandardCharsets.UTF_8)).dataset();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The WDBC study's features (in model input order), label and classes ("0" benign, "1" malignant). */
  /**
   * The WDBC study's model card: its public bounds ({@code wdbc.bounds.csv}), classes 0 benign, 1 malignant. (Here,
   * not on {@link ModelCard}: the card is served by the inference enclave, whose image carries no CSV loader.)
   */
  public static ModelCard wdbcCard(String studyId) {
    return ModelCard.of(studyId, wdbcSchema(), wdbcPreprocessing(), List.of("benign", "malignant"));
  }

  public static StudySchema wdbcSchema() {
    return new StudySchema(wdbcPreprocessing().features(), "malignant", List.of("0", "1"));
  }

  /**
   * The WDBC study's public feature handling: plausible bounds of each measurement, declared once
   * in {@code wdbc.bounds.csv} (see the comment there), never computed from the data.
   */
  public static PreprocessingSpec wdbcPreprocessing() {
    List<FeatureRule> rules = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(new InputStreamReader(resource("wdbc.bounds.csv"), StandardCharsets.UTF_8))) {
      String line;
      boolean header = true;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        if (header) {
          header = false;
          continue;
        }
        String[] p = line.split(",", -1);
        String transform = p.length > 3 ? p[3].strip() : "";
        double lo = Double.parseDouble(p[1]);
        double hi = Double.parseDouble(p[2]);
        rules.add(switch (transform) {
          case "", "none" -> FeatureRule.bounds(p[0], lo, hi);
          case "log" -> FeatureRule.logBounds(p[0], lo, hi);
          default -> throw new IllegalStateException("wdbc.bounds.csv: feature '" + p[0] + "': unknown transform '"
              + transform + "' (known: none, log)");
        });
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new PreprocessingSpec(rules);
  }

  private static InputStream resource(String name) {
    InputStream in = BuiltinDatasets.class.getResourceAsStream("datasets/" + name);
    if (in == null) {
      throw new IllegalStateException("built-in dataset file " + name + " missing from the classpath");
    }
    return in;
  }
}
