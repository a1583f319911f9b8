package org.cloister.bench;

import org.cloister.observability.Percentiles;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.apache.commons.math3.transform.DftNormalization;
import org.apache.commons.math3.transform.FastFourierTransformer;
import org.apache.commons.math3.transform.TransformType;
import org.cloister.dp.accounting.pld.PldAccountant;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.accounting.rdp.RdpGuarantee;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.cloister.dp.math.FftConvolver;
import org.cloister.dp.noise.SecureGaussianNoise;

/**
 * The privacy-accounting benchmarks of issue #3, in one process, each timed after warm-up
 * (median and minimum of wall-clock and of this thread's CPU time) with a baseline measured in
 * the same run:
 * <ol>
 *   <li>RDP epsilon for 10^5 DP-SGD steps (q 0.01, sigma 1, delta 1e-5); baseline: none needed
 *       (absolute target 5 ms), PLD on the same mechanism is reported for contrast;</li>
 *   <li>PLD epsilon for q 0.01, sigma 1, 10^4 steps, delta 1e-5, with the grid points held and
 *       bytes allocated per run; baseline: RDP on the same event;</li>
 *   <li>FFT squaring of real data: our former hand-written FFT ({@link HandwrittenFftConvolver}: real
 *       input packed into a half-length complex FFT) against
 *       JTransforms' {@code DoubleFFT_1D.realForward}/{@code realInverse} (the same real-input packing,
 *       same transform length, one thread), both checked to give the same result, at 2^18 values and
 *       at the PLD accountant's grid size; plus commons-math3's full-length complex FFT for contrast
 *       (it has no real-input transform);</li>
 *   <li>secure Gaussian noise, coordinates per second on one thread; baseline:
 *       java.util.Random.nextGaussian.</li>
 * </ol>
 * Not a test: wall-clock numbers depend on the machine and its load.
 */
public final class AccountingBenchmark {

  /** Timing of one benchmark: milliseconds per run. */
  public record Timing(int runs, double wallMedianMs, double wallMinMs, double cpuMedianMs, double cpuMinMs) {
  }

  /** Everything measured in one run of the benchmark. */
  public record Report(
      double loadAverageBefore, double loadAverageAfter, int processors,
      Timing rdpEpsilon100kSteps, double rdpEpsilon, double rdpOptimalOrder,
      Timing pldEpsilon10kSteps, double pldEpsilon, long pldGridPoints, double pldAllocatedMbPerRun,
      double pldTruncationDelta, Timing rdpSameEvent10kSteps, double rdpEpsilon10kSteps,
      int fftLength, Timing fftSquare, Timing commonsMathFft, Timing jtransformsFft,
      int pldFftLength, Timing fftSquarePld, Timing jtransformsFftPld, double fftMaxAbsDifference,
      int noiseCoordinates, Timing secureNoise, double secureNoiseCoordinatesPerSecond,
      Timing randomNextGaussian, double randomNextGaussianCoordinatesPerSecond) {
  }

  private final int warmups;
  private final int runs;

  /** With 3 warm-up and 7 measured runs for the heavy benchmarks (more for the light ones). */
  public AccountingBenchmark() {
    this(3, 7);
  }

  public AccountingBenchmark(int warmups, int runs) {
    if (warmups < 0 || runs < 1) {
      throw new IllegalArgumentException("need warmups >= 0 and runs >= 1, got " + warmups + ", " + runs);
    }
    this.warmups = warmups;
    this.runs = runs;
  }

  private static DpEvent dpSgd(double q, double sigma, long steps) {
    return new SelfComposedEvent(new PoissonSampledEvent(q, new GaussianEvent(sigma)), steps);
  }

  /** Runs all benchmarks (about half a minute on a loaded 2-core machine). */
  public Report run() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    double loadBefore = os.getSystemLoadAverage();
    DpEvent rdpEvent = dpSgd(0.01, 1.0, 100_000);
    RdpGuarantee[] rdpResult = new RdpGuarantee[1];
    Timing rdp = time(10 * warmups + 10, 10 * runs, () -> {
      rdpResult[0] = new RdpAccountant().compose(rdpEvent).epsilonAndOrder(1e-5);
      return rdpResult[0].epsilon();
    });

    DpEvent pldEvent = dpSgd(0.01, 1.0, 10_000);
    PldAccountant[] pldResult = new PldAccountant[1];
    double[] eps = new double[1];
    Timing pld = time(warmups, runs, () -> {
      pldResult[0] = new PldAccountant().compose(pldEvent);
      eps[0] = pldResult[0].epsilon(1e-5);
      return eps[0];
    });
    double allocatedMb = allocatedMegabytes(() -> new PldAccountant().compose(pldEvent).epsilon(1e-5));
    double[] rdpEps = new double[1];
    Timing rdpSame = time(10 * warmups + 10, 10 * runs, () -> {
      rdpEps[0] = new RdpAccountant().compose(pldEvent).epsilon(1e-5);
      return rdpEps[0];
    });

    int fftLength = 1 << 18; // squared into 2^19 - 1 values, padded to 2^19
    double[] data = new double[fftLength];
    Random random = new Random(1);
    for (int i = 0; i < fftLength; i++) {
      data[i] = random.nextDouble();
    }
    HandwrittenFftConvolver fft = new HandwrittenFftConvolver();
    Timing ours = time(warmups + 2, runs, () -> fft.square(data)[7]);
    JTransformsSquare jt = new JTransformsSquare(fftLength);
    Timing jtransforms = time(warmups + 2, runs, () -> jt.square(data)[7]);
    double maxDiff = maxAbsDifference(fft.square(data), jt.square(data));
    int pldLength = (int) Math.min(Integer.MAX_VALUE / 4, pldResult[0].gridPoints());
    double[] pldData = Arrays.copyOf(data, pldLength);
    for (int i = fftLength; i < pldLength; i++) {
      pldData[i] = random.nextDouble();
    }
    Timing oursPld = time(warmups + 2, runs, () -> fft.square(pldData)[7]);
    JTransformsSquare jtPld = new JTransformsSquare(pldLength);
    Timing jtransformsPld = time(warmups + 2, runs, () -> jtPld.square(pldData)[7]);
    maxDiff = Math.max(maxDiff, maxAbsDifference(fft.square(pldData), jtPld.square(pldData)));
    maxDiff = Math.max(maxDiff, maxAbsDifference(fft.square(pldData), new FftConvolver().square(pldData)));
    double[][] complex = new double[2][2 * fftLength];
    Timing commons = time(warmups + 2, runs, () -> {
      Arrays.fill(complex[0], 0);
      Arrays.fill(complex[1], 0);
      System.arraycopy(data, 0, complex[0], 0, fftLength);
      FastFourierTransformer.transformInPlace(complex, DftNormalization.STANDARD, TransformType.FORWARD);
      for (int k = 0; k < complex[0].length; k++) { // pointwise square
        double re = complex[0][k];
        double im = complex[1][k];
        complex[0][k] = re * re - im * im;
        complex[1][k] = 2 * re * im;
      }
      FastFourierTransformer.transformInPlace(complex, DftNormalization.STANDARD, TransformType.INVERSE);
      return complex[0][7];
    });

    int coordinates = 1 << 22;
    float[] target = new float[coordinates];
    SecureGaussianNoise noise = SecureGaussianNoise.seeded(2026);
    Timing secure = time(warmups + 2, runs, () -> {
      noise.addTo(target, 1.0);
      return target[0];
    });
    Random baseline = new Random(2026);
    Timing javaRandom = time(warmups + 2, runs, () -> {
      for (int i = 0; i < coordinates; i++) {
        target[i] += (float) baseline.nextGaussian();
      }
      return target[0];
    });

    return new Report(loadBefore, os.getSystemLoadAverage(), os.getAvailableProcessors(),
        rdp, rdpResult[0].epsilon(), rdpResult[0].optimalOrder(),
        pld, eps[0], pldResult[0].gridPoints(), allocatedMb, pldResult[0].truncationDelta(),
        rdpSame, rdpEps[0],
        fftLength, ours, commons, jtransforms, pldLength, oursPld, jtransformsPld, maxDiff,
        coordinates, secure, coordinates / (secure.wallMedianMs() / 1e3),
        javaRandom, coordinates / (javaRandom.wallMedianMs() / 1e3));
  }

  /** Largest |a[i] - b[i]| relative to the largest |a[i]| (the two FFTs must agree for the comparison to mean anything). */
  private static double maxAbsDifference(double[] a, double[] b) {
    if (a.length != b.length) {
      throw new IllegalStateException("FFT results of different lengths: " + a.length + " vs " + b.length);
    }
    double scale = 0;
    double diff = 0;
    for (int i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(a[i]));
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
    }
    return diff / scale;
  }

  private static Timing time(int warmups, int runs, DoubleSupplier body) {
    double sink = 0;
    for (int i = 0; i < warmups; i++) {
      sink += body.getAsDouble();
    }
    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    List<Double> wall = new ArrayList<>();
    List<Double> cpu = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      long c0 = threads.getCurrentThreadCpuTime();
      long w0 = System.nanoTime();
      sink += body.getAsDouble();
      long w1 = System.nanoTime();
      long c1 = threads.getCurrentThreadCpuTime();
      wall.add((w1 - w0) / 1e6);
      cpu.add((c1 - c0) / 1e6);
    }
    if (Double.isNaN(sink)) {
      throw new IllegalStateException("benchmark produced NaN");
    }
    return new Timing(runs, median(wall), min(wall), median(cpu), min(cpu));
  }

  private static double allocatedMegabytes(DoubleSupplier body) {
    java.lang.management.ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    if (threads instanceof com.sun.management.ThreadMXBean sun && sun.isThreadAllocatedMemorySupported()) {
      long id = Thread.currentThread().getId();
      long before = sun.getThreadAllocatedBytes(id);
      body.getAsDouble();
      return (sun.getThreadAllocatedBytes(id) - before) / 1e6;
    }
    return Double.NaN;
  }

  private static double median(List<Double> values) {
    return Percentiles.median(values);
  }


  private static double min(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
  }
}
