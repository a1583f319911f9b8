package org.cloister.bench.jmh;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Collection;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Every JMH micro benchmark runs under the harness (no warm-up, one short iteration, the smallest
 * sizes) and reports a positive time per operation; one of them also in a forked JVM, as
 * {@code java -jar benchmarks.jar} runs them all. Asserts that the benchmarks work, not how fast
 * anything is. (All of them forked take about 45 s on the loaded 2-core machine, hence in-process.)
 */
class JmhSmokeTest {
  @Test
  void aBenchmarkRunsInAForkedJvm() throws Exception {
    Collection<RunResult> results = new Runner(new OptionsBuilder()
        .include(RdpBench.class.getName() + "\\.")
        .forks(1)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(100))
        .shouldFailOnError(true)
        .build()).run();
    assertThat(results).hasSize(1);
    assertThat(results.iterator().next().getPrimaryResult().getScore()).isPositive();
  }

  @Test
  void everyBenchmarkRunsAndReportsATime() throws Exception {
    Options options = new OptionsBuilder()
        .include(JmhSmokeTest.class.getPackageName() + "\\..*Bench\\.")
        .param("bytes", "1024")
        .param("values", "1000")
        .param("length", "4096")
        .forks(0)
        .warmupIterations(0)
        .measurementIterations(1)
        .measurementTime(TimeValue.milliseconds(100))
        .shouldFailOnError(true)
        .build();
    Collection<RunResult> results = new Runner(options).run();
    Set<String> ran = new TreeSet<>();
    for (RunResult r : results) {
      String name = r.getParams().getBenchmark();
      ran.add(name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1));
      assertThat(r.getPrimaryResult().getScore()).as(name).isPositive();
    }
    assertThat(ran).containsExactlyInAnyOrder("AeadBench.openStream", "AeadBench.sealStream", "HpkeBench.seal",
        "HpkeBench.open", "HpkeBench.openBouncyCastle", "HpkeBench.openStreamBouncyCastle", "HpkeBench.sealStream", "HpkeBench.openStream", "NoiseBench.addToUpdate",
        "FftBench.jtransforms", "FftBench.handwritten", "RdpBench.epsilon");
  }
}
