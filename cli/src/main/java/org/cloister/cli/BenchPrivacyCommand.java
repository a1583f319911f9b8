package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.cloister.bench.AccountingBenchmark;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister bench privacy}: the accounting and noise benchmarks of issue #3. */
@Command(name = "privacy", mixinStandardHelpOptions = true,
    description = "RDP epsilon (1e5 steps), PLD epsilon (1e4 steps), FFT and secure noise throughput, with same-run baselines.")
final class BenchPrivacyCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Option(names = "--json", description = "Print the full report as JSON.")
  boolean json;

  @Option(names = "--runs", defaultValue = "7", description = "Measured runs of the heavy benchmarks (default ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--warmups", defaultValue = "3", description = "Warm-up runs (default ${DEFAULT-VALUE}).")
  int warmups;

  @Override
  public Integer call() throws Exception {
    if (runs < 1 || warmups < 0) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--runs must be >= 1 and --warmups >= 0");
    }
    AccountingBenchmark.Report r = new AccountingBenchmark(warmups, runs).run();
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(r));
    } else {
      out.printf(Locale.ROOT, "machine: %d processors, load average %.2f -> %.2f%n", r.processors(), r.loadAverageBefore(), r.loadAverageAfter());
      out.printf(Locale.ROOT, "RDP epsilon, q=0.01 sigma=1 1e5 steps: %.3f ms median wall (%.3f ms CPU); eps=%.4f at order %s%n",
          r.rdpEpsilon100kSteps().wallMedianMs(), r.rdpEpsilon100kSteps().cpuMedianMs(), r.rdpEpsilon(), r.rdpOptimalOrder());
      out.printf(Locale.ROOT, "PLD epsilon, q=0.01 sigma=1 1e4 steps: %.1f ms median wall, %.1f ms min wall, %.1f ms median CPU; eps=%.4f "
              + "(RDP %.4f in %.3f ms); %d grid points held, %.0f MB allocated per run, truncation delta %.2g%n",
          r.pldEpsilon10kSteps().wallMedianMs(), r.pldEpsilon10kSteps().wallMinMs(), r.pldEpsilon10kSteps().cpuMedianMs(),
          r.pldEpsilon(), r.rdpEpsilon10kSteps(), r.rdpSameEvent10kSteps().wallMedianMs(), r.pldGridPoints(),
          r.pldAllocatedMbPerRun(), r.pldTruncationDelta());
      out.printf(Locale.ROOT, "FFT squaring of %d reals: ours %.1f ms CPU, JTransforms realForward %.1f ms CPU "
              + "(JTransforms/ours %.2f); commons-math3 full-length complex %.1f ms CPU (ratio %.2f)%n",
          r.fftLength(), r.fftSquare().cpuMedianMs(), r.jtransformsFft().cpuMedianMs(),
          r.jtransformsFft().cpuMedianMs() / r.fftSquare().cpuMedianMs(), r.commonsMathFft().cpuMedianMs(),
          r.commonsMathFft().cpuMedianMs() / r.fftSquare().cpuMedianMs());
      out.printf(Locale.ROOT, "FFT squaring at the PLD grid size (%d reals): ours %.1f ms CPU, JTransforms %.1f ms CPU "
              + "(JTransforms/ours %.2f); results agree to %.1e relative%n",
          r.pldFftLength(), r.fftSquarePld().cpuMedianMs(), r.jtransformsFftPld().cpuMedianMs(),
          r.jtransformsFftPld().cpuMedianMs() / r.fftSquarePld().cpuMedianMs(), r.fftMaxAbsDifference());
      out.printf(Locale.ROOT, "noise, %d floats, one thread: SecureGaussianNoise %.1f M coords/s (%.1f M/s by CPU), "
              + "java.util.Random.nextGaussian %.1f M/s (%.1f M/s by CPU); ratio %.2f%n",
          r.noiseCoordinates(), r.secureNoiseCoordinatesPerSecond() / 1e6, r.noiseCoordinates() / r.secureNoise().cpuMedianMs() / 1e3,
          r.randomNextGaussianCoordinatesPerSecond() / 1e6, r.noiseCoordinates() / r.randomNextGaussian().cpuMedianMs() / 1e3,
          r.secureNoiseCoordinatesPerSecond() / r.randomNextGaussianCoordinatesPerSecond());
    }
    out.flush();
    return 0;
  }
}
