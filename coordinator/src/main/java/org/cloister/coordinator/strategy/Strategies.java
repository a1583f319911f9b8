package org.cloister.coordinator.strategy;

import java.util.List;

/**
 * Strategies by name, as a study configuration names them: {@code fedavg}, {@code fedprox} or
 * {@code fedprox:MU}, {@code fedadam}, {@code fedyogi}. FedAdam and FedYogi select sites as FedAvg
 * does; their server optimizer runs where the updates are seen in plaintext (the enclave).
 */
public final class Strategies {
  /** The names a study configuration accepts. */
  public static final List<String> NAMES = List.of("fedavg", "fedprox", "fedadam", "fedyogi");

  private Strategies() {
  }

  /**
   * The coordinator's strategy for {@code spec}.
   *
   * @throws IllegalArgumentException naming the unknown strategy or the bad coefficient
   */
  public static Strategy parse(String spec) {
    String name = baseName(spec);
    return switch (name) {
      case "fedavg", "fedadam", "fedyogi" -> {
        requireNoArgument(spec, name);
        yield new FedAvgStrategy();
      }
      case "fedprox" -> new FedProxStrategy(proximalMu(spec));
      default -> throw new IllegalArgumentException("unknown strategy '" + spec + "' (available: fedavg, fedprox[:MU], fedadam, fedyogi)");
    };
  }

  /** The strategy's name without its argument: {@code fedprox:0.1} gives {@code fedprox}. */
  public static String baseName(String spec) {
    int colon = spec.indexOf(':');
    return colon < 0 ? spec : spec.substring(0, colon);
  }

  /** FedProx's coefficient in {@code fedprox:MU} ({@link FedProxStrategy#DEFAULT_MU} for plain {@code fedprox}). */
  public static double proximalMu(String spec) {
    int colon = spec.indexOf(':');
    if (colon < 0) {
      return FedProxStrategy.DEFAULT_MU;
    }
    String v = spec.substring(colon + 1);
    double mu;
    try {
      mu = Double.parseDouble(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("strategy '" + spec + "': mu '" + v + "' is not a number");
    }
    if (!(mu > 0) || !Double.isFinite(mu)) {
      throw new IllegalArgumentException("strategy '" + spec + "': mu must be > 0, got " + v);
    }
    return mu;
  }

  private static void requireNoArgument(String spec, String name) {
    if (!spec.equals(name)) {
      throw new IllegalArgumentException("strategy '" + spec + "': " + name + " takes no argument");
    }
  }
}
