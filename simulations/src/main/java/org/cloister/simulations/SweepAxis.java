package org.cloister.simulations;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One axis of a sweep: a parameter and the values it takes, from {@code NAME=V1,V2,...}
 * (e.g. {@code epsilon=0.5,1,2,4,8}). Several axes make a grid (their cartesian product).
 *
 * <p>Parameters: {@code epsilon}, {@code sites}, {@code alpha} (Dirichlet partition),
 * {@code clip}, {@code noise_multiplier}, {@code sampling_rate}, {@code learning_rate},
 * {@code rounds}, {@code local_steps}, {@code local_epochs}, {@code batch_size}, {@code seed}.
 */
public record SweepAxis(String name, List<String> values) {
  public static final List<String> NAMES = List.of("epsilon", "sites", "alpha", "clip", "noise_multiplier",
      "sampling_rate", "learning_rate", "rounds", "local_steps", "local_epochs", "batch_size", "seed");

  public SweepAxis {
    values = List.copyOf(values);
  }

  /** Parses {@code NAME=V1,V2,...}; errors name the flag and the bad part. */
  public static SweepAxis parse(String spec) {
    int eq = spec.indexOf('=');
    if (eq <= 0) {
      throw new IllegalArgumentException("--sweep expects NAME=V1,V2,... (e.g. epsilon=0.5,1,2), got '" + spec + "'");
    }
    String name = spec.substring(0, eq).trim().toLowerCase(Locale.ROOT).replace('-', '_');
    if (!NAMES.contains(name)) {
      throw new IllegalArgumentException("--sweep: unknown parameter '" + name + "' (known: " + String.join(", ", NAMES) + ")");
    }
    List<String> vals = new ArrayList<>();
    for (String v : spec.substring(eq + 1).split(",")) {
      String t = v.trim();
      if (t.isEmpty()) {
        throw new IllegalArgumentException("--sweep " + name + ": empty value in '" + spec + "'");
      }
      vals.add(t);
    }
    SweepAxis axis = new SweepAxis(name, vals);
    for (String v : vals) {
      axis.apply(SimulationConfig.builder().dp(DpSettings.budget(1, 1e-5, 1)), v); // validates the value early
    }
    if (vals.stream().distinct().count() != vals.size()) {
      throw new IllegalArgumentException("--sweep " + name + ": repeated value in '" + spec + "'");
    }
    return axis;
  }

  /** Sets this axis to {@code value} on {@code b}. */
  SimulationConfig.Builder apply(SimulationConfig.Builder b, String value) {
    switch (name) {
      case "epsilon" -> {
        DpSettings d = b.currentDp();
        b.dp(new DpSettings(true, positive(value), d.enabled() ? d.delta() : 1e-5, Double.NaN,
            d.enabled() ? d.clipNorm() : 1.0, d.enabled() ? d.samplingRate() : Double.NaN));
      }
      case "noise_multiplier" -> {
        DpSettings d = b.currentDp();
        b.dp(new DpSettings(true, Double.NaN, d.enabled() ? d.delta() : 1e-5, positive(value),
            d.enabled() ? d.clipNorm() : 1.0, d.enabled() ? d.samplingRate() : Double.NaN));
      }
      case "clip" -> {
        DpSettings d = requireDp(b);
        b.dp(new DpSettings(true, d.epsilon(), d.delta(), d.noiseMultiplier(), positive(value), d.samplingRate()));
      }
      case "sampling_rate" -> {
        DpSettings d = requireDp(b);
        b.dp(new DpSettings(true, d.epsilon(), d.delta(), d.noiseMultiplier(), d.clipNorm(), positive(value)));
      }
      case "alpha" -> b.partition("dirichlet:" + positive(value));
      case "sites" -> {
        b.sites(whole(value));
        b.minSitesPerRound = null; // the default quorum for that many sites (two thirds)
      }
      case "learning_rate" -> b.learningRate(positive(value));
      case "rounds" -> b.rounds(whole(value));
      case "local_steps" -> b.localSteps(whole(value));
      case "local_epochs" -> b.localEpochs(whole(value));
      case "batch_size" -> b.batchSize(whole(value));
      case "seed" -> b.seed(whole(value));
      default -> throw new IllegalStateException(name);
    }
    return b;
  }

  private DpSettings requireDp(SimulationConfig.Builder b) {
    if (!b.currentDp().enabled()) {
      throw new IllegalArgumentException("--sweep " + name + " needs DP-SGD: give --epsilon or --noise-multiplier too");
    }
    return b.currentDp();
  }

  private double positive(String v) {
    double d;
    try {
      d = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--sweep " + name + ": '" + v + "' is not a number");
    }
    if (!(d > 0) || !Double.isFinite(d)) {
      throw new IllegalArgumentException("--sweep " + name + ": values must be > 0, got " + v);
    }
    return d;
  }

  private int whole(String v) {
    try {
      return Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--sweep " + name + ": '" + v + "' is not a whole number");
    }
  }
}
