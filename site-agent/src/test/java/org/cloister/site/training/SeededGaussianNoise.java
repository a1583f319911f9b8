package org.cloister.site.training;

import java.util.Random;
import java.util.random.RandomGenerator;
import org.cloister.dp.noise.GaussianNoise;

/** TEST ONLY: reproducible, not secure. Production uses dp-accounting's secure noise. */
final class SeededGaussianNoise implements GaussianNoise, RandomGenerator {
  private final Random random;

  SeededGaussianNoise(long seed) {
    this.random = new Random(seed);
  }

  @Override
  public double nextStandard() {
    return random.nextGaussian();
  }

  @Override
  public long nextLong() {
    return random.nextLong();
  }
}
