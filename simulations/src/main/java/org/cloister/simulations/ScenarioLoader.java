package org.cloister.simulations;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.cloister.simulations.config.StrictYaml;

/**
 * Reads scenario files ({@code SCENARIO.yaml}) into a {@link SimulationConfig.Builder}, through
 * the typed {@link ScenarioFile} ({@link StrictYaml}: Jackson's YAML binding, no scalar coercion). Keys mirror the
 * {@code simulate} flags with underscores; unknown keys, wrong types and keys without a value are
 * errors naming the file and the key path (docs/schemas/scenario.md).
 */
public final class ScenarioLoader {
  /** The scenario shipped as {@code examples/NAME.yaml}. */
  public SimulationConfig.Builder loadBuiltin(String name) {
    String res = "examples/" + name + ".yaml";
    try (InputStream in = ScenarioLoader.class.getResourceAsStream(res)) {
      if (in == null) {
        throw new IllegalArgumentException("no built-in scenario '" + name + "'");
      }
      return load(new String(in.readAllBytes(), StandardCharsets.UTF_8), name + ".yaml");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  public SimulationConfig.Builder load(Path file) {
    try {
      return load(Files.readString(file, StandardCharsets.UTF_8), file.toString());
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read scenario " + file + ": " + e.getMessage(), e);
    }
  }

  public SimulationConfig.Builder load(String yamlText, String source) {
    if (yamlText.isBlank()) {
      return SimulationConfig.builder();
    }
    ScenarioFile f = StrictYaml.bind(yamlText, source, ScenarioFile.class, Map.of("dp", EMPTY_DP));
    if (f == null) {
      return SimulationConfig.builder();
    }
    SimulationConfig.Builder b = SimulationConfig.builder();
    set(f.studyId(), b::studyId);
    set(f.dataset(), b::dataset);
    set(f.label(), b::labelColumn);
    set(f.outcome(), b::labelColumn); // outcome: a Synthea cohort's label
    set(f.sites(), b::sites);
    set(f.partition(), b::partition);
    set(f.rounds(), b::rounds);
    set(f.localEpochs(), b::localEpochs);
    set(f.localSteps(), b::localSteps);
    set(f.batchSize(), b::batchSize);
    set(f.learningRate(), b::learningRate);
    set(f.model(), b::model);
    set(f.strategy(), b::strategy);
    set(f.minSites(), b::minSitesPerRound);
    set(f.roundDeadlineSeconds(), s -> b.roundDeadline(Duration.ofMillis((long) (s * 1000))));
    set(f.seed(), s -> b.seed(s));
    set(f.testFraction(), b::testFraction);
    set(f.dp(), d -> b.dp(dp(source, d)));
    set(f.preprocessing(), p -> b.preprocessing(org.cloister.data.PreprocessingSpec.parse(p, source)));
    set(f.countPrivate(), b::countPrivate);
    set(f.csv(), c -> b.csv(csv(source, c)));
    return b;
  }

  private static org.cloister.data.CsvOptions csv(String source, ScenarioFile.Csv c) {
    try {
      java.util.Map<String, org.cloister.data.MissingRule> by = new java.util.LinkedHashMap<>();
      if (c.missingByColumn() != null) {
        for (var e : c.missingByColumn().entrySet()) {
          try {
            by.put(e.getKey(), org.cloister.data.MissingRule.parse(e.getValue()));
          } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException("'csv.missing_by_column." + e.getKey() + "': " + ex.getMessage(), ex);
          }
        }
      }
      org.cloister.data.MissingRule missing;
      try {
        missing = c.missing() == null ? org.cloister.data.MissingRule.FAIL : org.cloister.data.MissingRule.parse(c.missing());
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("'csv.missing': " + ex.getMessage(), ex);
      }
      char delimiter;
      try {
        delimiter = c.delimiter() == null ? ',' : org.cloister.data.CsvOptions.delimiter(c.delimiter());
      } catch (IllegalArgumentException ex) {
        throw new IllegalArgumentException("'csv.delimiter': " + ex.getMessage(), ex);
      }
      return new org.cloister.data.CsvOptions(delimiter,
          c.ignoreColumns() == null ? java.util.List.of() : c.ignoreColumns(),
          c.missingValues() == null ? java.util.List.of() : c.missingValues(), missing, by);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(source + ": " + e.getMessage(), e);
    }
  }

  private static final String EMPTY_DP =
      "'dp' is empty: give 'epsilon' (or 'noise_multiplier'), or 'enabled: false' for the non-private baseline";

  private static <T> void set(T value, java.util.function.Consumer<T> setter) {
    if (value != null) {
      setter.accept(value);
    }
  }

  private static DpSettings dp(String source, ScenarioFile.Dp d) {
    if (d.enabled() == null && d.epsilon() == null && d.delta() == null && d.noiseMultiplier() == null && d.clip() == null
        && d.samplingRate() == null) {
      throw new IllegalArgumentException(source + ": " + EMPTY_DP);
    }
    // Fail closed: only the YAML boolean false turns DP off (the binding refuses "true", 1 or an empty value).
    if (Boolean.FALSE.equals(d.enabled())) {
      for (String k : new String[] {"epsilon", "delta", "noise_multiplier", "clip", "sampling_rate"}) {
        Object v = switch (k) {
          case "epsilon" -> d.epsilon();
          case "delta" -> d.delta();
          case "noise_multiplier" -> d.noiseMultiplier();
          case "clip" -> d.clip();
          default -> d.samplingRate();
        };
        if (v != null) {
          throw new IllegalArgumentException(source + ": 'dp.enabled' is false but 'dp." + k + "' is set: remove one of them");
        }
      }
      return DpSettings.off();
    }
    return new DpSettings(true, nan(d.epsilon()), nan(d.delta()), nan(d.noiseMultiplier()),
        d.clip() != null ? d.clip() : 1.0, nan(d.samplingRate()));
  }

  private static double nan(Double v) {
    return v == null ? Double.NaN : v;
  }

}
