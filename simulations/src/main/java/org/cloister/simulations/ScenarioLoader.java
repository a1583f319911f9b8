package org.cloister.simulations;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads scenario files ({@code SCENARIO.yaml}) into a {@link SimulationConfig.Builder}. Keys
 * mirror the {@code simulate} flags with underscores; unknown keys and wrong types are errors that
 * name the key.
 */
public final class ScenarioLoader {
  private static final Set<String> KEYS = Set.of("study_id", "dataset", "label", "outcome", "sites", "partition", "rounds",
      "local_epochs", "local_steps", "batch_size", "learning_rate", "model", "strategy", "min_sites",
      "round_deadline_s", "seed", "test_fraction", "dp", "preprocessing", "count_private");
  private static final Set<String> DP_KEYS = Set.of("enabled", "epsilon", "delta", "noise_multiplier", "clip", "sampling_rate");

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
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yamlText);
    } catch (YAMLException e) {
      throw new IllegalArgumentException(source + ": not valid YAML: " + e.getMessage().lines().findFirst().orElse(""), e);
    }
    if (root == null) {
      return SimulationConfig.builder();
    }
    if (!(root instanceof Map<?, ?> map)) {
      throw new IllegalArgumentException(source + ": a scenario is a mapping of keys to values");
    }
    SimulationConfig.Builder b = SimulationConfig.builder();
    for (Map.Entry<?, ?> e : map.entrySet()) {
      String key = String.valueOf(e.getKey());
      Object v = e.getValue();
      if (!KEYS.contains(key)) {
        throw new IllegalArgumentException(source + ": unknown key '" + key + "' (known: " + new java.util.TreeSet<>(KEYS) + ")");
      }
      switch (key) {
        case "study_id" -> b.studyId(str(source, key, v));
        case "dataset" -> b.dataset(str(source, key, v));
        case "label", "outcome" -> b.labelColumn(str(source, key, v)); // outcome: a Synthea cohort's label
        case "sites" -> b.sites(integer(source, key, v));
        case "partition" -> b.partition(str(source, key, v));
        case "rounds" -> b.rounds(integer(source, key, v));
        case "local_epochs" -> b.localEpochs(integer(source, key, v));
        case "local_steps" -> b.localSteps(integer(source, key, v));
        case "batch_size" -> b.batchSize(integer(source, key, v));
        case "learning_rate" -> b.learningRate(number(source, key, v));
        case "model" -> b.model(str(source, key, v));
        case "strategy" -> b.strategy(str(source, key, v));
        case "min_sites" -> b.minSitesPerRound(integer(source, key, v));
        case "round_deadline_s" -> b.roundDeadline(Duration.ofMillis((long) (number(source, key, v) * 1000)));
        case "seed" -> b.seed(integer(source, key, v));
        case "test_fraction" -> b.testFraction(number(source, key, v));
        case "dp" -> b.dp(dp(source, v));
        case "preprocessing" -> {
          if (!(v instanceof Map<?, ?> pm)) {
            throw new IllegalArgumentException(source + ": 'preprocessing' must be a mapping of feature names to rules");
          }
          b.preprocessing(org.cloister.data.PreprocessingSpec.parse(pm, source));
        }
        case "count_private" -> {
          if (!(v instanceof Boolean flag)) {
            throw new IllegalArgumentException(source + ": 'count_private' must be true or false, got '" + v + "'");
          }
          b.countPrivate(flag);
        }
        default -> throw new IllegalStateException(key);
      }
    }
    return b;
  }

  private static DpSettings dp(String source, Object v) {
    if (v == null) {
      throw new IllegalArgumentException(source + ": 'dp' is empty: give 'epsilon' (or 'noise_multiplier'), or 'enabled: false' for the non-private baseline");
    }
    if (!(v instanceof Map<?, ?> m)) {
      throw new IllegalArgumentException(source + ": 'dp' must be a mapping");
    }
    for (Object k : m.keySet()) {
      if (!DP_KEYS.contains(String.valueOf(k))) {
        throw new IllegalArgumentException(source + ": unknown key 'dp." + k + "' (known: " + new java.util.TreeSet<>(DP_KEYS) + ")");
      }
    }
    if (m.isEmpty()) {
      throw new IllegalArgumentException(source + ": 'dp' is empty: give 'epsilon' (or 'noise_multiplier'), or 'enabled: false' for the non-private baseline");
    }
    // Fail closed: only the YAML boolean false turns DP off; "true", 1 or an empty value are errors.
    Object enabledValue = m.containsKey("enabled") ? m.get("enabled") : Boolean.TRUE;
    if (!(enabledValue instanceof Boolean enabled)) {
      throw new IllegalArgumentException(source + ": 'dp.enabled' must be true or false, got '" + enabledValue + "'");
    }
    if (!enabled) {
      for (Object k : m.keySet()) {
        if (!"enabled".equals(String.valueOf(k))) {
          throw new IllegalArgumentException(source + ": 'dp.enabled' is false but 'dp." + k + "' is set: remove one of them");
        }
      }
      return DpSettings.off();
    }
    return new DpSettings(true, opt(source, "dp.epsilon", m.get("epsilon")), opt(source, "dp.delta", m.get("delta")),
        opt(source, "dp.noise_multiplier", m.get("noise_multiplier")),
        m.containsKey("clip") ? number(source, "dp.clip", m.get("clip")) : 1.0,
        opt(source, "dp.sampling_rate", m.get("sampling_rate")));
  }

  private static double opt(String source, String key, Object v) {
    return v == null ? Double.NaN : number(source, key, v);
  }

  private static String str(String source, String key, Object v) {
    if (v == null || v instanceof Map || v instanceof java.util.List) {
      throw new IllegalArgumentException(source + ": '" + key + "' must be a text value");
    }
    return String.valueOf(v);
  }

  private static int integer(String source, String key, Object v) {
    if (v instanceof Integer i) {
      return i;
    }
    if (v instanceof Long l && l == (int) (long) l) {
      return (int) (long) l;
    }
    throw new IllegalArgumentException(source + ": '" + key + "' must be a whole number, got '" + v + "'");
  }

  private static double number(String source, String key, Object v) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    throw new IllegalArgumentException(source + ": '" + key + "' must be a number, got '" + v + "'");
  }

}
