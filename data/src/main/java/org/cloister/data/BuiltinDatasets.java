package org.cloister.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Datasets shipped inside Cloister, so that demos and tests never download anything. */
public final class BuiltinDatasets {
  private BuiltinDatasets() {
  }

  /**
   * The Wisconsin Diagnostic Breast Cancer data: 569 patients, 30 features, label {@code malignant}
   * (1 = malignant). CC BY 4.0, UCI; see {@code wdbc.NOTICE.md} beside the resource.
   */
  public static Dataset wdbc() {
    try (InputStream in = BuiltinDatasets.class.getResourceAsStream("datasets/wdbc.csv")) {
      if (in == null) {
        throw new IllegalStateException("built-in dataset wdbc.csv missing from the classpath");
      }
      return new CsvDatasetLoader("malignant", BadRowPolicy.FAIL)
          .load(new InputStreamReader(in, StandardCharsets.UTF_8)).dataset();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
