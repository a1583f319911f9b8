package org.cloister.bench.jmh;

import java.util.concurrent.TimeUnit;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.GaussianEvent;
import org.cloister.dp.events.PoissonSampledEvent;
import org.cloister.dp.events.SelfComposedEvent;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The RDP accountant on DP-SGD (Poisson-sampled Gaussian, q = 0.01, sigma = 1.0, 10,000 steps): compose and convert to epsilon. */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RdpBench {
  private final DpEvent dpSgd = new SelfComposedEvent(new PoissonSampledEvent(0.01, new GaussianEvent(1.0)), 10_000);

  @Benchmark
  public double epsilon() {
    return new RdpAccountant().compose(dpSgd).epsilon(1e-5);
  }
}
