package org.cloister.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.cloister.dp.noise.SecureGaussianNoise;
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
 * Gaussian noise from the CSPRNG-driven sampler ({@link SecureGaussianNoise}, seeded here for a
 * repeatable benchmark): noise added to a float32 update, as DP-SGD and central DP do.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class NoiseBench {
  /** Values noised per operation. */
  @Param({"1000000"})
  public int values;

  private SecureGaussianNoise noise;
  private float[] update;

  @Setup
  public void setUp() {
    noise = SecureGaussianNoise.seeded(3);
    update = new float[values];
  }

  @Benchmark
  public float addToUpdate() {
    noise.addTo(update, 1.0);
    return update[0];
  }
}
