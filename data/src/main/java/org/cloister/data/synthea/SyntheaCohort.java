package org.cloister.data.synthea;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.cloister.data.DataFormatException;
import org.cloister.data.CsvRows;
import org.cloister.data.Dataset;

/**
 * One row per adult patient from the CSV export of the Synthea generator ({@code patients.csv},
 * {@code conditions.csv}, {@code observations.csv}): age, sex, and the latest value of common
 * vitals and labs by LOINC code; the label is whether the patient has a diagnosis of the outcome
 * (SNOMED CT codes). Missing vitals/labs are NaN: the study's preprocessing fills them with
 * each feature's centre (the middle of its public range), never with a statistic of the data.
 *
 * <p>A cohort folder holds either one Synthea export ({@code patients.csv} directly or under
 * {@code csv/}) or one sub-folder per hospital ({@code site-1/}, {@code site-2/}, ... in name
 * order), each its own export: {@link Cohort#siteOfRow()} says which hospital each row comes from.
 *
 * <p>Only the columns listed here are read; names, addresses and identifiers are never kept, and
 * error messages name files, lines and columns, never values.
 */
public final class SyntheaCohort {
  /** Age is computed at the patient's death or at the latest observation date in the cohort. */
  public static final int MIN_AGE = 18;

  /** Vitals and labs by LOINC code, in feature order. */
  public static final Map<String, String> LOINC_FEATURES;

  static {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("39156-5", "bmi");
    m.put("8480-6", "systolic_bp");
    m.put("8462-4", "diastolic_bp");
    m.put("8867-4", "heart_rate");
    m.put("9279-1", "respiratory_rate");
    m.put("29463-7", "body_weight_kg");
    m.put("8302-2", "body_height_cm");
    m.put("2345-7", "glucose");
    m.put("4548-4", "hba1c");
    m.put("2093-3", "cholesterol_total");
    m.put("2571-8", "triglycerides");
    m.put("18262-6", "ldl");
    m.put("2085-9", "hdl");
    m.put("38483-4", "creatinine");
    LOINC_FEATURES = java.util.Collections.unmodifiableMap(m);
  }

  /**
   * Public clinical bounds of every feature (physiologically plausible adult ranges, public
   * knowledge, not computed from any cohort): the study's preprocessing. Values outside are
   * clamped; a missing value is the middle of the range.
   */
  public static org.cloister.data.PreprocessingSpec preprocessing() {
    double[][] b = {{18, 110}, {0, 1}, {10, 70}, {60, 250}, {30, 150}, {30, 220}, {5, 60}, {25, 300}, {120, 220},
        {20, 600}, {3, 20}, {50, 500}, {20, 2000}, {10, 400}, {5, 150}, {0.1, 15}};
    List<String> names = new ArrayList<>(List.of("age_years", "male"));
    names.addAll(LOINC_FEATURES.values());
    List<org.cloister.data.FeatureRule> rules = new ArrayList<>();
    for (int i = 0; i < names.size(); i++) {
      rules.add(org.cloister.data.FeatureRule.bounds(names.get(i), b[i][0], b[i][1]));
    }
    return new org.cloister.data.PreprocessingSpec(rules);
  }

  /** The outcomes by name, as SNOMED CT codes of the diagnosis. */
  public static final Map<String, Set<String>> OUTCOMES = Map.of(
      "diabetes", Set.of("44054006", "46635009"),        // diabetes mellitus type 2, type 1
      "hypertension", Set.of("59621000", "38341003"));   // essential hypertension, hypertensive disorder

  /**
   * A loaded cohort.
   *
   * @param siteOfRow index into {@code siteNames} of each row's hospital
   */
  public record Cohort(Dataset dataset, int[] siteOfRow, List<String> siteNames) {
  }

  private final Set<String> outcomeCodes;
  private final String outcomeName;

  /** @param outcome {@code diabetes}, {@code hypertension} or {@code snomed:CODE[+CODE...]} */
  public SyntheaCohort(String outcome) {
    if (outcome.startsWith("snomed:")) {
      Set<String> codes = new HashSet<>(List.of(outcome.substring("snomed:".length()).split("\\+")));
      if (codes.isEmpty() || codes.stream().anyMatch(c -> !c.matches("[0-9]+"))) {
        throw new IllegalArgumentException("outcome 'snomed:CODE[+CODE...]' needs numeric SNOMED CT codes, got '" + outcome + "'");
      }
      this.outcomeCodes = Set.copyOf(codes);
    } else if (OUTCOMES.containsKey(outcome)) {
      this.outcomeCodes = OUTCOMES.get(outcome);
    } else {
      throw new IllegalArgumentException("unknown Synthea outcome '" + outcome + "' (expected diabetes, hypertension or snomed:CODE)");
    }
    this.outcomeName = outcome.replace(':', '_').replace('+', '_');
  }

  public Cohort load(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("synthea: no folder " + dir);
    }
    List<Path> exports = new ArrayList<>();
    List<String> names = new ArrayList<>();
    if (exportDir(dir) != null) {
      exports.add(exportDir(dir));
      names.add(dir.getFileName() == null ? "site-1" : dir.getFileName().toString());
    } else {
      try (Stream<Path> s = Files.list(dir)) {
        for (Path p : s.filter(Files::isDirectory).sorted(SyntheaCohort::byNaturalName).toList()) {
          Path e = exportDir(p);
          if (e != null) {
            exports.add(e);
            names.add(p.getFileName().toString());
          }
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    if (exports.isEmpty()) {
      throw new IllegalArgumentException("synthea: " + dir + " has no patients.csv (nor csv/patients.csv, nor site folders with one)");
    }
    List<double[]> rows = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    List<Integer> sites = new ArrayList<>();
    for (int s = 0; s < exports.size(); s++) {
      int before = rows.size();
      readExport(exports.get(s), rows, labels);
      for (int i = before; i < rows.size(); i++) {
        sites.add(s);
      }
      if (rows.size() == before) {
        throw new IllegalArgumentException("synthea: " + exports.get(s) + " has no adult patients");
      }
    }
    List<String> featureNames = new ArrayList<>(List.of("age_years", "male"));
    featureNames.addAll(LOINC_FEATURES.values());
    Dataset ds = new Dataset(featureNames, outcomeName, List.of("no_" + outcomeName, outcomeName),
        rows.toArray(double[][]::new), labels.stream().mapToInt(Integer::intValue).toArray());
    return new Cohort(ds, sites.stream().mapToInt(Integer::intValue).toArray(), names);
  }

  private static int byNaturalName(Path a, Path b) {
    String x = a.getFileName().toString();
    String y = b.getFileName().toString();
    String dx = x.replaceAll("\\D", "");
    String dy = y.replaceAll("\\D", "");
    if (x.replaceAll("\\d", "").equals(y.replaceAll("\\d", "")) && !dx.isEmpty() && !dy.isEmpty() && dx.length() < 10 && dy.length() < 10) {
      return Integer.compare(Integer.parseInt(dx), Integer.parseInt(dy));
    }
    return x.compareTo(y);
  }

  private static Path exportDir(Path p) {
    if (Files.isRegularFile(p.resolve("patients.csv"))) {
      return p;
    }
    if (Files.isRegularFile(p.resolve("csv").resolve("patients.csv"))) {
      return p.resolve("csv");
    }
    return null;
  }

  private void readExport(Path dir, List<double[]> rows, List<Integer> labels) {
    // latest (date, value) per patient and code
    Map<String, Map<String, String[]>> latest = new HashMap<>();
    String[] maxDate = {""};
    forEachRow(dir.resolve("observations.csv"), List.of("DATE", "PATIENT", "CODE", "VALUE"), (line, c) -> {
      date(dir.resolve("observations.csv"), line, "DATE", c[0]); // a date, or an error naming the line
      if (c[0].compareTo(maxDate[0]) > 0) {
        maxDate[0] = c[0];
      }
      if (!LOINC_FEATURES.containsKey(c[2])) {
        return;
      }
      Map<String, String[]> byCode = latest.computeIfAbsent(c[1], k -> new HashMap<>());
      String[] cur = byCode.get(c[2]);
      if (cur == null || c[0].compareTo(cur[0]) >= 0) {
        byCode.put(c[2], new String[] {c[0], c[3], Long.toString(line)});
      }
    });
    Set<String> withOutcome = new HashSet<>();
    forEachRow(dir.resolve("conditions.csv"), List.of("PATIENT", "CODE"), (line, c) -> {
      if (outcomeCodes.contains(c[1])) {
        withOutcome.add(c[0]);
      }
    });
    if (maxDate[0].isEmpty()) {
      throw new DataFormatException(dir.resolve("observations.csv") + ": no observations");
    }
    LocalDate reference = date(dir.resolve("observations.csv"), 0, "DATE", maxDate[0]);
    Path observations = dir.resolve("observations.csv");
    forEachRow(dir.resolve("patients.csv"), List.of("Id", "BIRTHDATE", "DEATHDATE", "GENDER"), (line, c) -> {
      LocalDate birth = date(dir.resolve("patients.csv"), line, "BIRTHDATE", c[1]);
      LocalDate at = c[2].isEmpty() ? reference : date(dir.resolve("patients.csv"), line, "DEATHDATE", c[2]);
      double age = ChronoUnit.DAYS.between(birth, at) / 365.25;
      if (age < MIN_AGE) {
        return;
      }
      double[] f = new double[2 + LOINC_FEATURES.size()];
      f[0] = age;
      f[1] = switch (c[3]) {
        case "M" -> 1;
        case "F" -> 0;
        default -> throw new DataFormatException(line, dir.resolve("patients.csv") + ": column GENDER must be M or F");
      };
      Map<String, String[]> obs = latest.getOrDefault(c[0], Map.of());
      int j = 2;
      for (String code : LOINC_FEATURES.keySet()) {
        String[] v = obs.get(code);
        if (v == null) {
          f[j++] = Double.NaN;
          continue;
        }
        try {
          f[j++] = Double.parseDouble(v[1]);
        } catch (NumberFormatException e) {
          throw new DataFormatException(Long.parseLong(v[2]), observations + ": column VALUE of LOINC " + code + " is not a number");
        }
      }
      rows.add(f);
      labels.add(withOutcome.contains(c[0]) ? 1 : 0);
    });
  }

  private static LocalDate date(Path file, long line, String col, String v) {
    try {
      return LocalDate.parse(v.length() >= 10 ? v.substring(0, 10) : v);
    } catch (java.time.DateTimeException e) {
      throw new DataFormatException(line, file + ": column " + col + " is not a date (YYYY-MM-DD)");
    }
  }

  @FunctionalInterface
  private interface RowConsumer {
    void accept(long line, String[] cells);
  }

  /** Streams {@code file}, handing the named columns of each row (quoted fields allowed) with its line number. */
  private static void forEachRow(Path file, List<String> columns, RowConsumer consumer) {
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("synthea: missing " + file + " (export with --exporter.csv.export true)");
    }
    try (CsvRows in = new CsvRows(Files.newBufferedReader(file, StandardCharsets.UTF_8))) {
      CsvRows.Row header = in.next();
      if (header == null) {
        throw new DataFormatException(1, file + ": empty file");
      }
      List<String> names = header.fields();
      int[] idx = new int[columns.size()];
      for (int i = 0; i < columns.size(); i++) {
        idx[i] = names.indexOf(columns.get(i));
        if (idx[i] < 0) {
          throw new DataFormatException(1, file + ": no column " + columns.get(i) + " in the header");
        }
      }
      String[] cells = new String[columns.size()];
      CsvRows.Row row;
      while ((row = in.next()) != null) {
        if (row.blank()) {
          continue;
        }
        List<String> parts = row.fields();
        for (int i = 0; i < idx.length; i++) {
          if (idx[i] >= parts.size()) {
            throw new DataFormatException(row.line(), file + ": " + parts.size() + " columns, no column " + columns.get(i));
          }
          cells[i] = parts.get(idx[i]);
        }
        consumer.accept(row.line(), cells);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }
}
