package org.cloister.simulations;

import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.cloister.coordinator.aggregation.Aggregator;
import org.cloister.coordinator.budget.BudgetGuard;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.CheckpointSigner;
import org.cloister.coordinator.store.StudyStore;
import org.cloister.coordinator.study.StudyAssembly;
import org.cloister.coordinator.study.StudyConfig;
import org.cloister.data.Dataset;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.site.agent.LocalTrainer;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.ledger.DatasetFingerprint;
import org.cloister.site.ledger.SpendSigner;
import org.cloister.site.plain.PlainSgdTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.cloister.trust.pki.IssuedCertificate;
import org.cloister.trust.pki.Pem;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * A simulated study's parts from its typed configuration ({@link SimulationConfig}), shared by every
 * simulation engine: the model and its public initial weights, the planned training configuration
 * (DP-SGD calibrated to the sites' sizes), the {@link StudyConfig}, the sites' ceilings, a throw-away
 * consortium PKI and a fresh output directory; the coordinator side through {@link StudyAssembly}
 * ({@link #coordinator}), each virtual site's trainer, spend signer and seeds ({@link #trainer},
 * {@link #signer}), and each site's epsilon as the coordinator's accountant reports it.
 */
public final class SimulatedStudy {
  private final SimulationConfig cfg;
  private final ModelArchitecture arch;
  private final int features;
  private final int classes;
  private final float[] w0;
  private final ModelArtifact model0;
  private final TrainingConfig training;
  private final StudyConfig study;
  private final PrivacyBudgets budgets;
  private final ConsortiumCredentials pki;

  private SimulatedStudy(SimulationConfig cfg, int features, int classes, List<Integer> siteSizes, DpEvent preprocessing,
                         Duration deadline) throws IOException {
    this.cfg = cfg;
    this.arch = ModelZoo.byName(cfg.model());
    this.features = features;
    this.classes = classes;
    Model initial = ModelZoo.newModel(arch, features, classes, cfg.seed(), new Sgd(cfg.learningRate()),
        DataType.FLOAT);
    this.w0 = Parameters.get(initial);
    this.model0 = StudyAssembly.initialModel(cfg.studyId(), arch.name(), w0);
    TrainingConfig base = TrainingConfig.newBuilder()
        .setLocalEpochs(cfg.localEpochs()).setLocalSteps(cfg.localSteps()).setBatchSize(cfg.batchSize())
        .setLearningRate(cfg.learningRate()).setSeed(cfg.seed()).build();
    this.training = base.toBuilder().setDp(DpPlanner.planForSizes(cfg, base, siteSizes, preprocessing)).build();
    // every simulated site is started by the simulation and expected: round 1 waits for all of them
    // (up to the join timeout, at least the round deadline) instead of starting 5 s after a quorum
    // joined, which on a loaded machine left a slow-starting site out of round 1 (EngineEquivalenceTest)
    Duration join = deadline.compareTo(Duration.ofSeconds(60)) > 0 ? deadline : Duration.ofSeconds(60);
    this.study = new StudyConfig(cfg.studyId(), arch.name(), w0.length, cfg.rounds(), cfg.minSitesPerRound(), 0,
        deadline, join, 3, training, StudyConfig.defaultMaxUpdateBytes(w0.length),
        cfg.sites(), join, true);
    this.budgets = budgets(cfg);
    // the coordinator's durable state, as in a deployment; each simulation is a fresh study
    Files.createDirectories(cfg.outDir());
    for (String f : new String[] {"coordinator.db", "coordinator.db-wal", "coordinator.db-shm", "consortium-ca.crt"}) {
      Files.deleteIfExists(cfg.outDir().resolve(f));
    }
    this.pki = ConsortiumCredentials.ephemeral(cfg.studyId(), Duration.ofDays(1));
    // the CA certificate (public) lets a privacy officer verify the ledger in coordinator.db afterwards
    Pem.writeCertificates(cfg.outDir().resolve("consortium-ca.crt"), List.of(pki.caCertificate()));
  }

  /**
   * Prepares a fresh study in {@code cfg.outDir()} (its coordinator database and CA certificate
   * are replaced).
   *
   * @param siteSizes     each site's example count (the DP-SGD plan is calibrated to them)
   * @param preprocessing what each site's private preprocessing release costs, or null
   * @param deadline      the round deadline
   */
  public static SimulatedStudy prepare(SimulationConfig cfg, Dataset test, List<Integer> siteSizes, DpEvent preprocessing,
                                       Duration deadline) throws IOException {
    return new SimulatedStudy(cfg, test.numFeatures(), test.numClasses(), siteSizes, preprocessing, deadline);
  }

  public ModelArchitecture architecture() {
    return arch;
  }

  public int dimension() {
    return w0.length;
  }

  public ModelArtifact initialModel() {
    return model0;
  }

  public TrainingConfig training() {
    return training;
  }

  public StudyConfig study() {
    return study;
  }

  public ConsortiumCredentials pki() {
    return pki;
  }

  /** The sites' ceiling, or null for a study without DP or with a given noise multiplier (no budget to enforce). */
  public PrivacyBudgets budgets() {
    return budgets;
  }

  /** The noise multiplier the sites train with, NaN for a non-private study. */
  public double noiseMultiplier() {
    return training.getDp().getEnabled() ? training.getDp().getNoiseMultiplier() : Double.NaN;
  }

  /** A new network of the study's architecture with the optimizer the sites use ({@code seedOffset} added to the seed). */
  public Model newNetwork(long seedOffset) {
    return ModelZoo.newModel(arch, features, classes, cfg.seed() + seedOffset, new Sgd(cfg.learningRate()), DataType.FLOAT);
  }

  /** A network to evaluate published weights with (no optimizer). */
  public Model newEvaluationNetwork() {
    return ModelZoo.newModel(arch, features, classes, cfg.seed(), null, DataType.FLOAT);
  }

  /**
   * The coordinator side in {@code cfg.outDir()/coordinator.db}, with the coordinator's
   * checkpoint key from the study's PKI, the study's strategy and ceilings (or, with none, no
   * enforcement, which only a non-private study or a given noise multiplier has), over {@code aggregator}.
   */
  public StudyAssembly.Builder coordinator(Aggregator aggregator) {
    IssuedCertificate coordinatorKey = pki.issue("coordinator");
    StudyAssembly.Builder b = StudyAssembly.builder(study, model0)
        .database("jdbc:sqlite:" + cfg.outDir().resolve("coordinator.db"))
        .checkpointSigner(new CheckpointSigner(coordinatorKey.privateKey(), coordinatorKey.certificate()))
        .strategy(cfg.strategy()).aggregator(aggregator).seed(cfg.seed());
    return budgets != null ? b.budgets(budgets) : b.withoutBudgetEnforcement();
  }

  /** Site {@code index}'s id ({@code site-1} for index 0). */
  public static String siteId(int index) {
    return "site-" + (index + 1);
  }

  /** Site {@code index}'s dataset id, under which its ledger keeps its spends. */
  public String datasetId(int index) {
    return DatasetFingerprint.of(siteId(index), "simulation:" + cfg.studyId() + ":partition-" + index);
  }

  /** Signs site {@code index}'s spends with its consortium certificate. */
  public SpendSigner signer(int index, IssuedCertificate party) {
    return new SpendSigner(siteId(index), party.privateKey(), party.certificate(),
        cfg.dp().enabled() ? cfg.dp().delta() : 1e-5, datasetId(index));
  }

  /** Site {@code index}'s DP noise stream: the same in every engine, so a study gives the same figures on each. */
  public SecureGaussianNoise noise(int index) {
    return SecureGaussianNoise.seeded(cfg.seed() * 1_000_003L + index);
  }

  /** Site {@code index}'s Poisson sampling stream, likewise. */
  public SplittableRandom sampling(int index) {
    return new SplittableRandom(cfg.seed() * 7919L + index);
  }

  /**
   * Site {@code index}'s trainer on {@code net} over its rows: DP-SGD under its own ceiling (the
   * study's epsilon, or none when a noise multiplier is given) with the given streams, or plain SGD
   * for a non-private study.
   *
   * @param spent         the site's spent events (its accountant composes them)
   * @param preprocessing what its preprocessing release cost, to be counted with its first update, or null
   */
  public LocalTrainer trainer(Model net, Dataset local, SecureGaussianNoise noise, SplittableRandom sampling,
                              Supplier<List<DpEvent>> spent, DpEvent preprocessing) {
    if (!cfg.dp().enabled()) {
      return new PlainSgdTrainer(net, local);
    }
    return new DpSgdLocalTrainer(net, local, noise, siteCeiling(), spent, sampling, preprocessing, cfg.countPrivate());
  }

  /** A site's own ceiling: the study's epsilon, or (a noise multiplier given) none. */
  public PrivacyBudget siteCeiling() {
    return new PrivacyBudget(Double.isNaN(cfg.dp().epsilon()) ? Double.MAX_VALUE : cfg.dp().epsilon(), cfg.dp().delta());
  }

  /**
   * An accountant of the sites' epsilon as the coordinator computes it (its ceilings, or none), over
   * the ledger in {@code store}; {@link BudgetGuard#epsilon} on a site's spent events.
   */
  public static BudgetGuard accountant(SimulationConfig cfg, StudyStore store) {
    PrivacyBudgets budgets = budgets(cfg);
    PrivacyBudgets ceilings = budgets != null ? budgets
        : new PrivacyBudgets(new PrivacyBudgets.Ceiling(Double.MAX_VALUE, cfg.dp().enabled() ? cfg.dp().delta() : 1e-5),
            Map.of());
    return new BudgetGuard(ceilings, store, cfg.studyId(), RdpAccountant::new);
  }

  /** The sites' ceiling from the simulation's budget, or null (no DP, or a given noise multiplier: nothing to enforce). */
  public static PrivacyBudgets budgets(SimulationConfig cfg) {
    return cfg.dp().enabled() && !Double.isNaN(cfg.dp().epsilon())
        ? new PrivacyBudgets(new PrivacyBudgets.Ceiling(cfg.dp().epsilon(), cfg.dp().delta()), Map.of()) : null;
  }

  /** Site {@code siteId}'s epsilon from its spent events (infinite for a non-private study). */
  public double epsilon(BudgetGuard accountant, String siteId, List<DpEvent> spent) {
    return cfg.dp().enabled() ? accountant.epsilon(siteId, spent) : Double.POSITIVE_INFINITY;
  }

  /** The delta epsilons are reported at (NaN for a non-private study). */
  public double reportedDelta() {
    return cfg.dp().enabled() ? cfg.dp().delta() : Double.NaN;
  }
}
