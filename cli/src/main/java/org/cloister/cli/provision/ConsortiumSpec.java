package org.cloister.cli.provision;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.cloister.cli.config.ConfigMap;

/**
 * A consortium as described in {@code CONSORTIUM.yaml}:
 *
 * <pre>
 * consortium: wdbc-study
 * coordinator: {host: 127.0.0.1, port: 7443}
 * sites: [site-1, site-2, site-3]
 * validity_days: 365
 * study:                 # fixed in the enclave's aggregation policy (measured into PCR2)
 *   id: wdbc-study-1
 *   model: logreg        # logreg | mlp | cnn
 *   features: 30
 *   classes: 2
 *   min_sites: 2         # no model is published from fewer updates
 *   strategy: fedavg     # fedavg | fedprox[:MU] (sites' proximal term) | fedadam | fedyogi (the enclave's server optimizer)
 *   max_update_norm: 100 # the enclave rejects updates with a larger L2 norm
 * observers: [evaluator] # members who receive the global models sealed to them but do not train
 * </pre>
 */
public record ConsortiumSpec(String name, String coordinatorHost, int coordinatorPort, List<String> sites, int validityDays,
                             Study study, List<String> observers) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");
  static final Set<String> STUDY_KEYS = Set.of("id", "model", "features", "classes", "min_sites", "strategy",
      "max_update_norm", "cohort_floor");

  /** What the consortium fixes about its study when it provisions the enclave's policy. */
  /**
   * @param cohortFloor k: the enclave publishes no model from fewer distinct authenticated training
   *                    sites (measured in its policy; default 3, never below 2; observers never count)
   */
  public record Study(String id, String model, int features, int classes, int minSites, String strategy,
                      double maxUpdateNorm, int cohortFloor) {
    public Study {
      if (!ID.matcher(id).matches()) {
        throw new IllegalArgumentException("study id '" + id + "' must be 1-64 of A-Z a-z 0-9 . _ -");
      }
      if (features < 1) {
        throw new IllegalArgumentException("study.features must be >= 1, got " + features);
      }
      if (classes < 2) {
        throw new IllegalArgumentException("study.classes must be >= 2, got " + classes);
      }
      if (minSites < 1) {
        throw new IllegalArgumentException("study.min_sites must be >= 1, got " + minSites);
      }
      if (cohortFloor < 2) {
        throw new IllegalArgumentException("study.cohort_floor must be >= 2 (one site alone would publish its own "
            + "update), got " + cohortFloor);
      }
      if (!(maxUpdateNorm > 0) || !Double.isFinite(maxUpdateNorm)) {
        throw new IllegalArgumentException("study.max_update_norm must be a positive number, got " + maxUpdateNorm);
      }
    }
  }

  public ConsortiumSpec {
    sites = List.copyOf(sites);
    observers = List.copyOf(observers);
    if (!ID.matcher(name).matches()) {
      throw new IllegalArgumentException("consortium name '" + name + "' must be 1-64 of A-Z a-z 0-9 . _ -");
    }
    if (sites.isEmpty()) {
      throw new IllegalArgumentException("'sites' must list at least one site");
    }
    Set<String> seen = new LinkedHashSet<>();
    for (String s : java.util.stream.Stream.concat(sites.stream(), observers.stream()).toList()) {
      if (!ID.matcher(s).matches()) {
        throw new IllegalArgumentException("site id '" + s + "' must be 1-64 of A-Z a-z 0-9 . _ -");
      }
      if (s.equals("coordinator") || s.equals("ca")) {
        throw new IllegalArgumentException("site id '" + s + "' is reserved");
      }
      if (!seen.add(s)) {
        throw new IllegalArgumentException("site id '" + s + "' appears twice");
      }
    }
    if (coordinatorPort < 1 || coordinatorPort > 65535) {
      throw new IllegalArgumentException("coordinator.port must be in 1..65535, got " + coordinatorPort);
    }
    if (validityDays < 1 || validityDays > 3650) {
      throw new IllegalArgumentException("validity_days must be in 1..3650, got " + validityDays);
    }
    java.util.Objects.requireNonNull(study, "study");
    if (study.minSites() > sites.size()) {
      throw new IllegalArgumentException("study.min_sites " + study.minSites() + " exceeds the " + sites.size()
          + " sites of the consortium");
    }
    if (study.cohortFloor() > sites.size()) {
      throw new IllegalArgumentException("study.cohort_floor " + study.cohortFloor() + " exceeds the " + sites.size()
          + " sites of the consortium (observers never count): no model could ever be published");
    }
  }

  public static ConsortiumSpec load(Path file) throws IOException {
    ConfigMap c = ConfigMap.load(file, Set.of("consortium", "coordinator", "sites", "validity_days", "study", "observers"));
    String host = "127.0.0.1";
    int port = 7443;
    if (c.has("coordinator")) {
      ConfigMap coord = c.section("coordinator", Set.of("host", "port"));
      host = coord.string("host", host);
      port = coord.integer("port", port);
    }
    if (!c.has("sites")) {
      throw c.error("'sites' must list the site ids");
    }
    String name = c.string("consortium");
    List<String> sites = c.strings("sites");
    ConfigMap st = c.has("study") ? c.section("study", STUDY_KEYS) : null;
    int quorum = Math.max(1, (2 * sites.size() + 2) / 3);
    Study study = st == null ? new Study(name + "-study-1", "logreg", 30, 2, quorum, "fedavg", 100.0,
        org.cloister.enclave.AggregationPolicy.DEFAULT_COHORT_FLOOR)
        : new Study(st.string("id", name + "-study-1"), st.string("model", "logreg"), st.integer("features", 30),
            st.integer("classes", 2), st.integer("min_sites", quorum), st.string("strategy", "fedavg"),
            st.number("max_update_norm", 100.0),
            st.integer("cohort_floor", org.cloister.enclave.AggregationPolicy.DEFAULT_COHORT_FLOOR));
    return new ConsortiumSpec(name, host, port, sites, c.integer("validity_days", 365), study,
        c.has("observers") ? c.strings("observers") : List.of());
  }
}
