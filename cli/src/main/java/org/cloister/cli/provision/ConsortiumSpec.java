package org.cloister.cli.provision;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.ConsortiumFile;

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
 *   preprocessing: builtin:wdbc   # the study's rule for every feature (or a mapping, docs/privacy-accounting.md)
 *   class_names: [benign, malignant]   # optional: what classes 0, 1, .. mean (the model card)
 *   central_dp:          # optional: site-level central DP in the enclave (noise calibrated at provisioning)
 *     epsilon: 4.0       # site-level target over all rounds
 *     delta: 1.0e-5
 *     rounds: 10         # noised models the budget covers (the enclave publishes no more)
 *     clip_norm: 3.0     # S: the enclave clips every site's update to this L2 norm
 *     denominator: 3     # public divisor of the noised sum (default: the number of sites)
 * observers: [evaluator] # members who receive the global models sealed to them but do not train
 * key_broker:            # optional: run the key broker with another party than the coordinator's host
 *   host: trustee        # a member or a separate party: its folder receives the broker's kit
 *   address: 10.0.0.7:7450   # where that party runs it; the coordinator's enclave connects there
 * </pre>
 */
public record ConsortiumSpec(String name, String coordinatorHost, int coordinatorPort, List<String> sites, int validityDays,
                             Study study, List<String> observers, KeyBrokerPlacement keyBroker) {
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /**
   * Site-level central DP as the consortium asks for it; provisioning calibrates the noise.
   *
   * @param epsilon     site-level epsilon over {@code rounds} noised models
   * @param delta       its delta
   * @param rounds      the number of noised models the enclave may publish
   * @param clipNorm    the L2 norm the enclave clips each site's update to
   * @param denominator the public divisor of the noised sum
   */
  public record CentralDpSpec(double epsilon, double delta, int rounds, double clipNorm, double denominator) {
    public CentralDpSpec {
      if (!(epsilon > 0) || !Double.isFinite(epsilon)) {
        throw new IllegalArgumentException("study.central_dp.epsilon must be a positive number, got " + epsilon);
      }
      if (!(delta > 0 && delta < 1)) {
        throw new IllegalArgumentException("study.central_dp.delta must be in (0, 1), got " + delta);
      }
      if (rounds < 1) {
        throw new IllegalArgumentException("study.central_dp.rounds must be >= 1, got " + rounds);
      }
      if (!(clipNorm > 0) || !Double.isFinite(clipNorm)) {
        throw new IllegalArgumentException("study.central_dp.clip_norm must be a positive number, got " + clipNorm);
      }
      if (!(denominator >= 1) || !Double.isFinite(denominator)) {
        throw new IllegalArgumentException("study.central_dp.denominator must be a number >= 1, got " + denominator);
      }
    }
  }

  /**
   * Where the key broker runs when it is not on the coordinator's host.
   *
   * @param party   the party whose folder receives the broker's kit (a member or a separate party)
   * @param address HOST:PORT at which that party serves it
   */
  public record KeyBrokerPlacement(String party, String address) {
    public KeyBrokerPlacement {
      if (party == null || !ID.matcher(party).matches()) {
        throw new IllegalArgumentException("key_broker.host '" + party + "' must be 1-64 of A-Z a-z 0-9 . _ -");
      }
      if (party.equals("coordinator") || party.equals("ca")) {
        throw new IllegalArgumentException("key_broker.host '" + party + "': the broker must run with a party other "
            + "than the coordinator (omit key_broker to keep it on the coordinator's host)");
      }
      if (address == null || !address.matches("[A-Za-z0-9.\\-]+:[0-9]{1,5}")) {
        throw new IllegalArgumentException("key_broker.address must be HOST:PORT, got '" + address + "'");
      }
      int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("key_broker.address port must be in 1..65535, got " + port);
      }
    }
  }

  /** What the consortium fixes about its study when it provisions the enclave's policy. */
  /**
   * @param cohortFloor k: the enclave publishes no model from fewer distinct authenticated training
   *                    sites (measured in its policy; default 3, never below 2; observers never count)
   */
  /**
   * @param preprocessing the study's rule for every feature (its keys are the feature names, in model-input
   *                      order), or null for the shipped WDBC study's ({@code builtin:wdbc})
   * @param classNames    what the classes mean, in class-index order (empty: their labels 0, 1, ..)
   */
  public record Study(String id, String model, int features, int classes, int minSites, String strategy,
                      double maxUpdateNorm, int cohortFloor, CentralDpSpec centralDp,
                      org.cloister.data.PreprocessingSpec preprocessing, List<String> classNames) {
    public Study(String id, String model, int features, int classes, int minSites, String strategy,
                 double maxUpdateNorm, int cohortFloor) {
      this(id, model, features, classes, minSites, strategy, maxUpdateNorm, cohortFloor, null);
    }

    public Study(String id, String model, int features, int classes, int minSites, String strategy,
                 double maxUpdateNorm, int cohortFloor, CentralDpSpec centralDp) {
      this(id, model, features, classes, minSites, strategy, maxUpdateNorm, cohortFloor, centralDp, null, List.of());
    }

    /**
     * The study's model card: its features with their rules, class labels 0..k-1 and their names; null
     * when the study declares no preprocessing and is not shaped like the WDBC study (30 features, 2 classes).
     */
    public org.cloister.data.ModelCard modelCard() {
      org.cloister.data.PreprocessingSpec spec = preprocessing;
      List<String> names = classNames;
      if (spec == null) {
        if (features != 30 || classes != 2) {
          return null;
        }
        spec = org.cloister.data.BuiltinDatasets.wdbcPreprocessing();
      }
      if (names.isEmpty() && classes == 2 && spec.equals(org.cloister.data.BuiltinDatasets.wdbcPreprocessing())) {
        names = List.of("benign", "malignant");
      }
      List<String> labels = java.util.stream.IntStream.range(0, classes).mapToObj(Integer::toString).toList();
      return org.cloister.data.ModelCard.of(id, new org.cloister.data.StudySchema(spec.features(), "label", labels),
          spec, names);
    }

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
      classNames = classNames == null ? List.of() : List.copyOf(classNames);
      if (preprocessing != null && preprocessing.rules().size() != features) {
        throw new IllegalArgumentException("study.preprocessing declares " + preprocessing.rules().size()
            + " features " + preprocessing.features() + ", study.features is " + features);
      }
      if (!classNames.isEmpty() && classNames.size() != classes) {
        throw new IllegalArgumentException("study.class_names lists " + classNames.size() + " names for "
            + classes + " classes");
      }
    }
  }

  public ConsortiumSpec(String name, String coordinatorHost, int coordinatorPort, List<String> sites, int validityDays,
                        Study study, List<String> observers) {
    this(name, coordinatorHost, coordinatorPort, sites, validityDays, study, observers, null);
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

  /** Reads {@code CONSORTIUM.yaml} (docs/schemas/consortium.md); errors name the file and the key path. */
  public static ConsortiumSpec load(Path file) {
    ConfigDir.Bound<ConsortiumFile> bound = ConfigDir.bind(file, ConsortiumFile.class);
    ConsortiumFile c = bound.value();
    ConfigDir dir = bound.dir();
    String host = c.coordinator() != null && c.coordinator().host() != null ? c.coordinator().host() : "127.0.0.1";
    int port = c.coordinator() != null && c.coordinator().port() != null ? c.coordinator().port() : 7443;
    String name = c.consortium();
    List<String> sites = c.sites();
    if (sites.contains(null) || (c.observers() != null && c.observers().contains(null))) {
      throw dir.error("'sites' and 'observers' list ids: an entry has no value");
    }
    ConsortiumFile.Study st = c.study();
    int quorum = Math.max(1, (2 * sites.size() + 2) / 3);
    int floor = org.cloister.enclave.AggregationPolicy.DEFAULT_COHORT_FLOOR;
    Study study;
    try {
      study = st == null ? new Study(name + "-study-1", "logreg", 30, 2, quorum, "fedavg", 100.0, floor)
          : new Study(or(st.id(), name + "-study-1"), or(st.model(), "logreg"), or(st.features(), 30),
              or(st.classes(), 2), or(st.minSites(), quorum), or(st.strategy(), "fedavg"), or(st.maxUpdateNorm(), 100.0),
              or(st.cohortFloor(), floor), st.centralDp() == null ? null : centralDp(st.centralDp(), sites.size()),
              preprocessing(st.preprocessing(), file), st.classNames() == null ? List.of() : st.classNames());
      KeyBrokerPlacement broker = c.keyBroker() == null ? null
          : new KeyBrokerPlacement(c.keyBroker().host(), c.keyBroker().address());
      return new ConsortiumSpec(name, host, port, sites, or(c.validityDays(), 365), study,
          c.observers() != null ? c.observers() : List.of(), broker);
    } catch (IllegalArgumentException e) {
      throw dir.error(e.getMessage());
    }
  }

  /** study.preprocessing: builtin:wdbc (or absent: null) or a mapping of feature names to rules. */
  private static org.cloister.data.PreprocessingSpec preprocessing(Object value, Path file) {
    if (value == null) {
      return null;
    }
    if (value instanceof java.util.Map<?, ?> rules) {
      return org.cloister.data.PreprocessingSpec.parse(rules, file.getFileName() + ": study");
    }
    if ("builtin:wdbc".equals(value)) {
      return org.cloister.data.BuiltinDatasets.wdbcPreprocessing();
    }
    throw new IllegalArgumentException("'study.preprocessing' must be builtin:wdbc or a mapping of feature names to "
        + "rules, got '" + value + "'");
  }

  private static <T> T or(T value, T dflt) {
    return value != null ? value : dflt;
  }

  /** The central DP section: every privacy setting explicit (required by the binding), the denominator defaults to the sites. */
  private static CentralDpSpec centralDp(ConsortiumFile.CentralDp dp, int sites) {
    return new CentralDpSpec(dp.epsilon(), dp.delta(), dp.rounds(), dp.clipNorm(),
        dp.denominator() != null ? dp.denominator() : sites);
  }
}
