package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;
import org.cloister.data.BuiltinDatasets;
import org.cloister.data.Dataset;
import org.cloister.data.Standardizer;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.models.ModelArchitecture;
import org.cloister.models.ModelZoo;
import org.cloister.models.Nd4jData;
import org.cloister.site.training.DpSgd;
import org.cloister.site.training.DpSgdTrainer;
import org.cloister.site.training.PerExampleMethod;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code cloister bench dpsgd}: the same model and batch size trained in one process with (a)
 * ordinary DL4J {@code fit}, (b) the DP-SGD trainer and (c) the naive per-example loop; reports
 * milliseconds per step, the ratios b/a and c/a, and peak memory of (a) and (b).
 */
@Command(name = "dpsgd", mixinStandardHelpOptions = true,
    description = "DP-SGD step time against ordinary DL4J training and the naive per-example loop.")
final class BenchDpsgdCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--model", required = true, description = "mlp (wdbc tabular data) or cnn (synthetic 28x28 images)")
  String model;

  @Option(names = "--batch", defaultValue = "256", description = "batch size (expected batch size for DP-SGD)")
  int batch;

  @Option(names = "--steps", description = "measured steps of (a) and (b) each (default: mlp 1000, cnn 40)")
  Integer steps;

  @Option(names = "--naive-steps", description = "measured steps of the naive loop (c), run after (a) and (b) in up to 5 blocks each paired with a block of (a) (default: mlp 50, cnn 5)")
  Integer naiveSteps;

  @Option(names = "--blocks", description = "(a) and (b) run in this many alternating blocks; "
      + "ratios are the median of per-block ratios, which cancels slow changes in machine load "
      + "(default: mlp 50, cnn 20)")
  Integer blocks;

  @Option(names = "--examples", description = "training examples (default: wdbc's 569 for mlp, 8 x batch for cnn)")
  Integer examples;

  @Option(names = "--seed", defaultValue = "1", description = "Seed for the synthetic data, initialization and noise (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--json", description = "print the result as JSON")
  boolean json;

  @Override
  public Integer call() throws Exception {
    if (!model.equals("mlp") && !model.equals("cnn")) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--model must be mlp or cnn, got '" + model + "'");
    }
    if (batch < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--batch must be >= 1, got " + batch);
    }
    int measured = steps != null ? steps : model.equals("mlp") ? 1000 : 40;
    int naive = naiveSteps != null ? naiveSteps : model.equals("mlp") ? 50 : 5;
    Dataset data = model.equals("mlp") ? tabular() : images(examples != null ? examples : 8 * batch, seed);
    int n = data.size();
    if (batch > n) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--batch " + batch + " is larger than the " + n + " training examples");
    }
    double q = batch / (double) n;
    ModelArchitecture arch = ModelZoo.byName(model);
    MultiLayerNetwork fitNet = ModelZoo.newNetwork(arch, data.numFeatures(), data.numClasses(), seed, new Adam(1e-3),
        DataType.FLOAT);
    MultiLayerNetwork dpNet = fitNet.clone();
    MultiLayerNetwork naiveNet = fitNet.clone();
    // the production noise source and accountant, as a site runs them
    org.cloister.dp.noise.SecureGaussianNoise noise = org.cloister.dp.noise.SecureGaussianNoise.fromOsEntropy();
    DpSgdTrainer dp = DpSgd.builder().clipNorm(1.0).noiseMultiplier(1.0).samplingRate(q).noise(noise)
        .accountant(new org.cloister.dp.accounting.rdp.RdpAccountant()).build(dpNet);
    DpSgdTrainer loop = DpSgd.builder().clipNorm(1.0).noiseMultiplier(1.0).samplingRate(q).noise(noise)
        .accountant(new CountingAccountant()).method(PerExampleMethod.NAIVE_LOOP).build(naiveNet);
    SecureRandom sampling = new SecureRandom();
    Random shuffle = new Random(seed);

    int nBlocks = blocks != null ? blocks : model.equals("mlp") ? 50 : 20;
    if (nBlocks < 1 || measured < nBlocks || naive < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "need --steps >= --blocks >= 1 and --naive-steps >= 1");
    }
    int block = measured / nBlocks;
    int naiveBlock = Math.max(1, naive / Math.min(nBlocks, 5));
    measured = block * nBlocks;
    naive = naiveBlock * (naive / naiveBlock);

    // warm-up (JIT, native kernels)
    fitSteps(fitNet, data, batch, Math.max(3, block), shuffle);
    dp.train(data, Math.max(3, block), sampling);
    loop.train(data, 1, sampling);

    double[] fitMs = new double[nBlocks];
    double[] dpMs = new double[nBlocks];
    double[] naiveMs = new double[nBlocks];
    double[] fitCpu = new double[nBlocks];
    double[] dpCpu = new double[nBlocks];
    double[] naiveCpu = new double[nBlocks];
    double[] dpRatio = new double[nBlocks];
    double[] naiveRatio = new double[nBlocks];
    double[] dpCpuRatio = new double[nBlocks];
    double[] naiveCpuRatio = new double[nBlocks];
    Memory fitMem = null;
    Memory dpMem = null;
    for (int r = 0; r < nBlocks; r++) {
      // (a) and (b) alternate which goes first, so neither always follows the other
      Memory m;
      if (r % 2 == 0) {
        m = timeFit(fitNet, data, block, shuffle, fitMs, fitCpu, r);
        fitMem = fitMem == null ? m : fitMem.max(m);
        m = timeDp(dp, data, block, sampling, dpMs, dpCpu, r);
        dpMem = dpMem == null ? m : dpMem.max(m);
      } else {
        m = timeDp(dp, data, block, sampling, dpMs, dpCpu, r);
        dpMem = dpMem == null ? m : dpMem.max(m);
        m = timeFit(fitNet, data, block, shuffle, fitMs, fitCpu, r);
        fitMem = fitMem == null ? m : fitMem.max(m);
      }
      dpRatio[r] = dpMs[r] / fitMs[r];
      dpCpuRatio[r] = dpCpu[r] / fitCpu[r];
    }
    // (c) afterwards (it allocates heavily and would slow whatever runs next), each naive block
    // paired with a block of (a)
    int naiveBlocks = naive / naiveBlock;
    naiveMs = new double[naiveBlocks];
    naiveCpu = new double[naiveBlocks];
    naiveRatio = new double[naiveBlocks];
    naiveCpuRatio = new double[naiveBlocks];
    double[] pairFitMs = new double[naiveBlocks];
    double[] pairFitCpu = new double[naiveBlocks];
    for (int r = 0; r < naiveBlocks; r++) {
      long t0 = System.nanoTime();
      long c0 = cpuNanos();
      loop.train(data, naiveBlock, sampling);
      naiveMs[r] = (System.nanoTime() - t0) / 1e6 / naiveBlock;
      naiveCpu[r] = (cpuNanos() - c0) / 1e6 / naiveBlock;
      timeFit(fitNet, data, block, shuffle, pairFitMs, pairFitCpu, r);
      naiveRatio[r] = naiveMs[r] / pairFitMs[r];
      naiveCpuRatio[r] = naiveCpu[r] / pairFitCpu[r];
    }
    // cost of drawing the noise alone (part of b): median of 21 draws of one step's noise
    float[] buf = new float[(int) dpNet.numParams()];
    org.cloister.dp.noise.GridGaussian grid = dp.gridMechanism().orElseThrow();
    double[] noiseDraws = new double[21];
    for (int i = 0; i < noiseDraws.length; i++) {
      long t0 = System.nanoTime();
      grid.release(buf, noise);
      noiseDraws[i] = (System.nanoTime() - t0) / 1e6;
    }
    double noiseMs = median(noiseDraws);

    double a = median(fitMs);
    double b = median(dpMs);
    double c = median(naiveMs);
    int blockSteps = block;
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("benchmark", "dpsgd");
    out.put("model", model);
    out.put("dataset", model.equals("mlp") ? "wdbc (569 x 30, standardized)" : "synthetic 28x28 images, 10 classes");
    out.put("examples", n);
    out.put("parameters", dpNet.numParams());
    out.put("batch", batch);
    out.put("samplingRate", q);
    out.put("steps", measured);
    out.put("naiveSteps", naive);
    out.put("blocks", nBlocks);
    out.put("stepsPerBlock", blockSteps);
    out.put("cores", Runtime.getRuntime().availableProcessors());
    out.put("fitMsPerStep", round(a));
    out.put("dpsgdMsPerStep", round(b));
    out.put("naiveMsPerStep", round(c));
    out.put("dpsgdOverFit", round(median(dpRatio)));
    out.put("naiveOverFit", round(median(naiveRatio)));
    out.put("cpuMsPerStep", Map.of("fit", round(median(fitCpu)), "dpsgd", round(median(dpCpu)),
        "naive", round(median(naiveCpu))));
    out.put("dpsgdOverFitCpu", round(median(dpCpuRatio)));
    out.put("naiveOverFitCpu", round(median(naiveCpuRatio)));
    out.put("dpsgdMinusNoiseOverFit", round((b - noiseMs) / a));
    out.put("dpsgdOverFitBlocks", roundAll(dpRatio));
    out.put("noiseMsPerStep", round(noiseMs));
    out.put("noiseSource", "GridGaussian: exact discrete Gaussian on the grid (AES-256-CTR bits, OS entropy)");
    out.put("fitPeakHeapMb", round(fitMem.heapMb()));
    out.put("dpsgdPeakHeapMb", round(dpMem.heapMb()));
    out.put("fitPeakOffHeapMb", round(fitMem.offHeapMb()));
    out.put("dpsgdPeakOffHeapMb", round(dpMem.offHeapMb()));
    out.put("fitHeapAllocatedMbPerStep", round(fitMem.allocatedMb() / measured));
    out.put("dpsgdHeapAllocatedMbPerStep", round(dpMem.allocatedMb() / measured));
    if (json) {
      System.out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(out));
    } else {
      out.forEach((k, v) -> System.out.println(k + ": " + (v instanceof double[] d ? Arrays.toString(d) : v)));
    }
    return 0;
  }

  private Memory timeFit(MultiLayerNetwork net, Dataset data, int steps, Random shuffle, double[] ms, double[] cpu,
                         int r) throws InterruptedException {
    MemoryProbe probe = MemoryProbe.start();
    long t0 = System.nanoTime();
    long c0 = cpuNanos();
    fitSteps(net, data, batch, steps, shuffle);
    ms[r] = (System.nanoTime() - t0) / 1e6 / steps;
    cpu[r] = (cpuNanos() - c0) / 1e6 / steps;
    return probe.stop();
  }

  private static Memory timeDp(DpSgdTrainer dp, Dataset data, int steps, SecureRandom sampling, double[] ms,
                               double[] cpu, int r) throws InterruptedException {
    MemoryProbe probe = MemoryProbe.start();
    long t0 = System.nanoTime();
    long c0 = cpuNanos();
    dp.train(data, steps, sampling);
    ms[r] = (System.nanoTime() - t0) / 1e6 / steps;
    cpu[r] = (cpuNanos() - c0) / 1e6 / steps;
    return probe.stop();
  }

  /** CPU time of the whole process (all threads, including ND4J's native worker threads). */
  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** (a): ordinary training on shuffled fixed-size batches. */
  private static void fitSteps(MultiLayerNetwork net, Dataset data, int batch, int steps, Random shuffle) {
    int[] all = Nd4jData.allRows(data);
    INDArray x = Nd4jData.features(data, all, DataType.FLOAT);
    INDArray y = Nd4jData.oneHot(data, all, DataType.FLOAT);
    int n = data.size();
    int[] order = all.clone();
    int pos = n;
    for (int s = 0; s < steps; s++) {
      if (pos + batch > n) {
        for (int i = n - 1; i > 0; i--) {
          int j = shuffle.nextInt(i + 1);
          int t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
        pos = 0;
      }
      int[] rows = Arrays.copyOfRange(order, pos, pos + batch);
      pos += batch;
      net.fit(Nd4j.pullRows(x, 1, rows), Nd4j.pullRows(y, 1, rows));
    }
  }

  private static Dataset tabular() {
    Dataset d = BuiltinDatasets.wdbc();
    return Standardizer.fit(d).apply(d);
  }

  /** Synthetic 28x28 images: a smooth random prototype per class plus pixel noise. */
  static Dataset images(int n, long seed) {
    Random r = new Random(seed);
    int classes = 10;
    double[][] proto = new double[classes][784];
    for (int k = 0; k < classes; k++) {
      double fx = 1 + r.nextInt(3);
      double fy = 1 + r.nextInt(3);
      double ph = r.nextDouble() * Math.PI;
      for (int i = 0; i < 28; i++) {
        for (int j = 0; j < 28; j++) {
          proto[k][i * 28 + j] = 0.5 + 0.5 * Math.sin(fx * i / 28.0 * Math.PI + ph) * Math.cos(fy * j / 28.0 * Math.PI);
        }
      }
    }
    double[][] x = new double[n][784];
    int[] y = new int[n];
    for (int i = 0; i < n; i++) {
      y[i] = r.nextInt(classes);
      for (int p = 0; p < 784; p++) {
        x[i][p] = proto[y[i]][p] + 0.3 * r.nextGaussian();
      }
    }
    List<String> features = new ArrayList<>();
    for (int p = 0; p < 784; p++) {
      features.add("px" + p);
    }
    List<String> names = new ArrayList<>();
    for (int k = 0; k < classes; k++) {
      names.add("class" + k);
    }
    return new Dataset(features, "class", names, x, y);
  }

  private static double median(double[] v) {
    return org.cloister.observability.Percentiles.median(v);
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static double[] roundAll(double[] v) {
    return Arrays.stream(v).map(BenchDpsgdCommand::round).toArray();
  }

  /** For the naive-loop baseline: records the number of events only (it measures speed, not privacy). */
  private static final class CountingAccountant implements PrivacyAccountant {
    private long events;

    @Override
    public boolean supports(DpEvent event) {
      return true;
    }

    @Override
    public PrivacyAccountant compose(DpEvent event, long count) {
      events += count;
      return this;
    }

    @Override
    public double epsilon(double delta) {
      return Double.NaN;
    }

    @Override
    public double delta(double epsilon) {
      return Double.NaN;
    }

    @Override
    public PrivacyAccountant copy() {
      CountingAccountant c = new CountingAccountant();
      c.events = events;
      return c;
    }
  }

  private record Memory(double heapMb, double offHeapMb, double allocatedMb) {
    Memory max(Memory o) {
      return new Memory(Math.max(heapMb, o.heapMb), Math.max(offHeapMb, o.offHeapMb),
          Math.max(allocatedMb, o.allocatedMb));
    }
  }

  /**
   * During a phase: peak JVM heap (sum of heap pool peaks, garbage included), sampled peak of
   * ND4J's off-heap allocations (arrays and workspaces), and heap bytes allocated by this thread.
   */
  private static final class MemoryProbe {
    private final AtomicLong offHeapPeak = new AtomicLong();
    private volatile boolean running = true;
    private final Thread sampler;
    private final long allocatedBefore;

    private static long allocated() {
      return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private MemoryProbe() {
      System.gc();
      for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
        if (p.getType() == MemoryType.HEAP) {
          p.resetPeakUsage();
        }
      }
      sampler = new Thread(() -> {
        while (running) {
          offHeapPeak.accumulateAndGet(Nd4j.getMemoryManager().allocatedMemory(0), Math::max);
          try {
            Thread.sleep(1);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "bench-memory-probe");
      sampler.setDaemon(true);
      sampler.start();
      allocatedBefore = allocated();
    }

    static MemoryProbe start() {
      return new MemoryProbe();
    }

    Memory stop() throws InterruptedException {
      long allocatedMb = allocated() - allocatedBefore;
      running = false;
      sampler.join();
      long heap = 0;
      for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
        if (p.getType() == MemoryType.HEAP) {
          heap += p.getPeakUsage().getUsed();
        }
      }
      return new Memory(heap / 1048576.0, offHeapPeak.get() / 1048576.0, allocatedMb / 1048576.0);
    }
  }
}
