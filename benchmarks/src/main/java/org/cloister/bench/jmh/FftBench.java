package org.cloister.bench.jmh;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.cloister.bench.HandwrittenFftConvolver;
import org.cloister.dp.math.FftConvolver;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Squaring a probability mass function by FFT, the PLD accountant's composition step: the production
 * {@link FftConvolver} (JTransforms, real-input transform) against the former hand-written FFT kept
 * as a baseline ({@link HandwrittenFftConvolver}), same lengths, same real-input packing.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FftBench {
  /** Values squared (the result has 2n - 1). */
  @Param({"262144"})
  public int length;

  private double[] data;
  private FftConvolver jtransforms;
  private HandwrittenFftConvolver handwritten;

  @Setup
  public void setUp() {
    Random r = new Random(1);
    data = new double[length];
    for (int i = 0; i < length; i++) {
      data[i] = r.nextDouble();
    }
    jtransforms = new FftConvolver();
    handwritten = new HandwrittenFftConvolver();
  }

  @Benchmark
  public double[] jtransforms() {
    return jtransforms.square(data);
  }

  @Benchmark
  public double[] handwritten() {
    return handwritten.square(data);
  }
}
