package org.cloister.simulations.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;
import org.cloister.data.Dataset;
import org.cloister.dp.noise.SecureGaussianNoise;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.models.Parameters;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.RoundTask;
import org.cloister.protocol.v1.TrainingConfig;
import org.cloister.simulations.DpPlanner;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.engine.SimulationEngine;
import org.cloister.simulations.engine.SyntheticCohort;
import org.cloister.site.dp.DpSgdLocalTrainer;
import org.cloister.site.training.PrivacyBudget;
import org.deeplearning4j.nn.api.Model;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Sgd;

/**
 * {@code cloister bench simulate}: an engine's round time against the limit, measured in the same
 * run: the pure training compute of the round's sites (the same {@link DpSgdLocalTrainer} on the
 * same number of threads, each with one network, called directly: no engine, no ledger, no
 * aggregation). Reports site updates per second, the median round time and
 * {@code engine_over_training} = round time / training time, and the heap's peak.
 *
 * <p>The study: a synthetic cohort with WDBC's feature space (30 features, 2 classes), N sites of
 * E examples each, one local epoch of DP-SGD (batch 16, clip 1) within epsilon 3 at delta 1e-5 per site.
 */
public final class SimulationBenchmark {

  public record Options(int sites, int rounds, String engine, String model, int examples, int workers, String master,
                        Path out) {
    public Options {
      if (sites < 3) {
        throw new IllegalArgumentException("--sites must be >= 3, got " + sites);
      }
      if (rounds < 2) {
        throw new IllegalArgumentException("--rounds must be >= 2 (the median round excludes the first), got " + rounds);
      }
      if (examples < 8) {
        throw new IllegalArgumentException("--examples must be >= 8, got " + examples);
      }
      if (workers < 1) {
        throw new IllegalArgumentException("--workers must be >= 1, got " + workers);
      }
    }
  }

  /** Sites of the engine's warm-up study: half the study's sites (2 rounds), at least this many... */
  static final int WARM_UP_SITES = 100;
  /** ...and at most this many. */
  static final int MAX_WARM_UP_SITES = 1000;

  private final Options o;
  private final Consumer<String> log;

  public SimulationBenchmark(Options o, Consumer<String> log) {
    this.o = o;
    this.log = log;
  }

  SimulationConfig study() {
    return SimulationConfig.builder().studyId("bench-simulate").dataset("synthetic:features=30,tail=0,examples=" + o.examples())
        .sites(o.sites()).rounds(o.rounds()).localEpochs(1).batchSize(16).learningRate(0.1).model(o.model())
        .seed(42).dp(DpSettings.budget(3.0, 1e-5, 1.0)).outDir(o.out()).build();
  }

  public Map<String, Object> run() throws Exception {
    SimulationConfig cfg = study();
    SyntheticCohort cohort = SyntheticCohort.parse(cfg.dataset(), cfg.seed(), cfg.sites());
    log.accept("training baseline (warm-up)...");
    pureTraining(cfg, cohort, 1);
    SimulationEngine engine = SimulationEngine.named(o.engine(), o.workers(), o.master());
    // the engine's own warm-up, as the baseline has one: a short study of the same kind compiles the
    // engine's paths (round engine, signing and verifying, ledger, aggregation) before the measured
    // run, so neither side pays the JIT compiler inside its measurement
    // as many site trainings as the baseline's warm-up (one round of every site), in 2 rounds: the
    // engine's per-site paths reach the same compilation as the baseline's before either is measured
    int warmSites = Math.min(o.sites(), Math.min(MAX_WARM_UP_SITES, Math.max(WARM_UP_SITES, o.sites() / 2)));
    log.accept("engine " + o.engine() + " (warm-up): " + warmSites + " sites, 2 rounds...");
    SimulationConfig warm = SimulationConfig.builder().studyId("bench-simulate-warm-up").dataset(cfg.dataset())
        .sites(warmSites).rounds(2).localEpochs(1).batchSize(16).learningRate(0.1).model(o.model()).seed(43)
        .dp(DpSettings.budget(3.0, 1e-5, 1.0)).outDir(o.out() == null ? null : o.out().resolve("warm-up")).build();
    engine.run(warm, r -> { });
    log.accept("engine " + o.engine() + ": " + o.sites() + " sites, " + o.rounds() + " rounds...");
    resetPeaks();
    List<Long> completions = new ArrayList<>();
    List<Long> cpuAtCompletion = new ArrayList<>();
    List<Long> engineRounds = new ArrayList<>();
    long t0 = System.nanoTime();
    SimulationResult result = engine.run(cfg, r -> {
      completions.add(System.nanoTime());
      cpuAtCompletion.add(processCpuNanos());
      engineRounds.add(r.durationMillis());
      log.accept(String.format(java.util.Locale.ROOT, "  round %d: %d sites, %d ms (engine), accuracy %.4f", r.round(),
          r.sites().size(), r.durationMillis(), r.accuracy()));
    });
    long wallNanos = System.nanoTime() - t0;
    long peakHeap = peakHeap();
    if (!result.status().startsWith("finished")) {
      throw new IllegalStateException("the study did not finish: " + result.status());
    }
    // a round on the engine: from one round's completion to the next (budget checks, training, ledger,
    // aggregation, evaluation: everything), round 1 (which includes the start) excluded
    double[] rounds = new double[completions.size() - 1];
    for (int i = 1; i < completions.size(); i++) {
      rounds[i - 1] = (completions.get(i) - completions.get(i - 1)) / 1e6;
    }
    log.accept("training baseline: " + Math.max(2, Math.min(o.rounds(), 3)) + " rounds of the sites' training...");
    int baselineRounds = Math.max(2, Math.min(o.rounds(), 3));
    long cpu0 = processCpuNanos();
    double[] training = pureTraining(cfg, cohort, baselineRounds);
    double trainingCpuMs = (processCpuNanos() - cpu0) / 1e6 / baselineRounds;
    double roundCpuMs = (cpuAtCompletion.get(cpuAtCompletion.size() - 1) - cpuAtCompletion.get(0)) / 1e6
        / (cpuAtCompletion.size() - 1);
    double roundMs = median(rounds);
    double trainingMs = median(training);
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("engine", o.engine());
    m.put("model", o.model());
    m.put("sites", o.sites());
    m.put("examples_per_site", o.examples());
    m.put("rounds", o.rounds());
    m.put("workers", o.workers());
    m.put("processors", Runtime.getRuntime().availableProcessors());
    m.put("round_ms", round1(roundMs));
    m.put("engine_round_ms_median", median(engineRounds.stream().mapToDouble(Long::doubleValue).toArray()));
    m.put("training_ms", round1(trainingMs));
    m.put("engine_over_training", Math.round(roundMs / trainingMs * 1000) / 1000.0);
    // CPU time of the whole process per round (every thread: engine, coordinator, GC): the work, whatever
    // else the machine runs; the wall ratio above is the target, this one is what load cannot inflate
    m.put("round_cpu_ms", round1(roundCpuMs));
    m.put("training_cpu_ms", round1(trainingCpuMs));
    m.put("engine_cpu_over_training_cpu", Math.round(roundCpuMs / trainingCpuMs * 1000) / 1000.0);
    m.put("site_updates_per_s", Math.round(o.sites() / (roundMs / 1000.0)));
    m.put("wall_s", round1(wallNanos / 1e9));
    m.put("peak_heap_mib", Math.round(peakHeap / 1048576.0));
    m.put("max_heap_mib", Math.round(Runtime.getRuntime().maxMemory() / 1048576.0));
    m.put("final_accuracy", result.finalMetrics().accuracy());
    m.put("noise_multiplier", result.noiseMultiplier());
    m.put("max_epsilon", result.sites().stream().mapToDouble(s -> s.epsilon()).max().orElse(Double.NaN));
    return m;
  }

  /**
   * The limit: every site of a round trains once with the engine's trainer and schedule on
   * {@code workers} threads, one network per thread; wall milliseconds per round.
   */
  double[] pureTraining(SimulationConfig cfg, SyntheticCohort cohort, int rounds) throws Exception {
    Dataset test = cohort.test();
    ModelArchitecture arch = ModelZoo.byName(cfg.model());
    Model initial = ModelZoo.newModel(arch, test.numFeatures(), test.numClasses(), cfg.seed(),
        new Sgd(cfg.learningRate()), DataType.FLOAT);
    float[] w0 = Parameters.get(initial);
    TrainingConfig base = TrainingConfig.newBuilder().setLocalEpochs(cfg.localEpochs()).setBatchSize(cfg.batchSize())
        .setLearningRate(cfg.learningRate()).setSeed(cfg.seed()).build();
    TrainingConfig training = base.toBuilder().setDp(DpPlanner.planForSizes(cfg, base, cohort.sizes(), null)).build();
    RoundTask task = RoundTask.newBuilder().setStudyId(cfg.studyId()).setRound(1).setRoundId("baseline")
        .setModel(ModelArtifact.newBuilder().setVersion(1).setDimension(w0.length)).setConfig(training).build();
    ThreadLocal<Model> nets = ThreadLocal.withInitial(() -> ModelZoo.newModel(arch, test.numFeatures(),
        test.numClasses(), cfg.seed(), new Sgd(cfg.learningRate()), DataType.FLOAT));
    ExecutorService pool = Executors.newFixedThreadPool(o.workers());
    List<List<org.cloister.dp.events.DpEvent>> spent = new ArrayList<>();
    SecureGaussianNoise[] noise = new SecureGaussianNoise[cfg.sites()];
    SplittableRandom[] sampling = new SplittableRandom[cfg.sites()];
    for (int s = 0; s < cfg.sites(); s++) {
      spent.add(new ArrayList<>()); // each site's accountant composes its history, as in the engine
    }
    try {
      double[] out = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        long t = System.nanoTime();
        List<Future<?>> fs = new ArrayList<>();
        for (int s = 0; s < cfg.sites(); s++) {
          int site = s;
          fs.add(pool.submit(() -> {
            // each site's noise and sampling streams continue from round to round, as a site's do in the
            // engine (VirtualSite) and in a deployment: the same random draws, the same generator state
            if (noise[site] == null) {
              noise[site] = SecureGaussianNoise.seeded(cfg.seed() * 1_000_003L + site);
              sampling[site] = new SplittableRandom(cfg.seed() * 7919L + site);
            }
            return spent.get(site).add(new DpSgdLocalTrainer(nets.get(), cohort.site(site), noise[site],
                new PrivacyBudget(cfg.dp().epsilon(), cfg.dp().delta()), () -> spent.get(site), sampling[site])
                .train(w0, task).spent());
          }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
        out[r] = (System.nanoTime() - t) / 1e6;
      }
      return out;
    } finally {
      pool.shutdownNow();
    }
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  private static void resetPeaks() {
    System.gc();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        p.resetPeakUsage();
      }
    }
  }

  private static long peakHeap() {
    long sum = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        sum += p.getPeakUsage().getUsed();
      }
    }
    return sum;
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static double round1(double v) {
    return Math.round(v * 10) / 10.0;
  }
}
