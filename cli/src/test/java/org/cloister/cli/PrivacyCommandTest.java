package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

class PrivacyCommandTest {

  private record Result(int code, String out, String err) {
    JsonNode json() throws Exception {
      return new ObjectMapper().readTree(out);
    }
  }

  private static Result run(String... args) {
    CommandLine cl = CloisterCommand.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Result(code, out.toString(), err.toString());
  }

  @Test
  void epsilonRdpJson() throws Exception {
    // Opacus accountants_test: sigma 1.5, q 0.04, 2250 steps, delta 1e-5 -> 7.32911117143, order 3.9
    Result r = run("privacy", "epsilon", "--sampling-rate", "0.04", "--noise-multiplier", "1.5",
        "--steps", "2250", "--delta", "1e-5", "--json");
    assertThat(r.code()).isZero();
    JsonNode j = r.json();
    assertThat(j.get("accountant").asText()).isEqualTo("rdp");
    assertThat(j.get("epsilon").asDouble()).isCloseTo(7.32911117143, within(1e-7));
    assertThat(j.get("delta").asDouble()).isEqualTo(1e-5);
    assertThat(j.get("optimal_order").asDouble()).isEqualTo(3.9);
  }

  @Test
  void epsilonPldJsonHasNoOrder() throws Exception {
    // TF Privacy compute_dp_sgd_privacy_test, PLD: q 0.01, sigma 0.7, 120 steps, delta 1e-5 -> 2.4612381
    Result r = run("privacy", "epsilon", "--sampling-rate", "0.01", "--noise-multiplier", "0.7",
        "--steps", "120", "--delta", "1e-5", "--accountant", "pld", "--json");
    assertThat(r.code()).isZero();
    JsonNode j = r.json();
    assertThat(j.get("accountant").asText()).isEqualTo("pld");
    assertThat(j.get("epsilon").asDouble()).isCloseTo(2.4612381, within(1e-6));
    assertThat(j.has("optimal_order")).isFalse();
  }

  @Test
  void epsilonReadableLine() {
    Result r = run("privacy", "epsilon", "--sampling-rate", "0.04", "--noise-multiplier", "1.5",
        "--steps", "2250", "--delta", "1e-5");
    assertThat(r.code()).isZero();
    // 7.329111 is printed rounded up
    assertThat(r.out()).startsWith("epsilon = 7.32912 at delta = 1e-05 (RDP accountant, optimal RDP order 3.9)")
        .contains("2250 steps").contains("sampling rate 0.04").contains("noise multiplier 1.5");
  }

  @Test
  void deltaWithoutSubsamplingMatchesTheExactGaussian() throws Exception {
    // Gaussian mechanism, sigma 1 (Q = 1: no subsampling), one step: delta(1) = 0.12693674.
    Result pld = run("privacy", "delta", "--sampling-rate", "1", "--noise-multiplier", "1", "--steps", "1",
        "--epsilon", "1", "--accountant", "PLD", "--json");
    assertThat(pld.code()).isZero();
    assertThat(pld.json().get("delta").asDouble()).isCloseTo(0.12693674, within(1e-8));
    Result rdp = run("privacy", "delta", "--sampling-rate", "1", "--noise-multiplier", "1", "--steps", "1",
        "--epsilon", "1", "--json");
    assertThat(rdp.json().get("delta").asDouble()).isGreaterThan(0.12693674);
    assertThat(rdp.json().has("optimal_order")).isTrue();
  }

  @Test
  void calibrateRoundTrips() throws Exception {
    // Opacus get_noise_multiplier: epsilon 8, delta 1e-5, q 0.04, 2250 steps -> 1.416 (its
    // bisection stops 0.01 short of the target; we return the smallest multiplier, <= 1.416).
    Result r = run("privacy", "calibrate", "--target-epsilon", "8", "--delta", "1e-5", "--sampling-rate", "0.04",
        "--steps", "2250", "--json");
    assertThat(r.code()).isZero();
    JsonNode j = r.json();
    double sigma = j.get("noise_multiplier").asDouble();
    assertThat(sigma).isBetween(1.41, 1.41605);
    assertThat(j.get("epsilon").asDouble()).isLessThanOrEqualTo(8.0).isGreaterThan(7.999);
    Result back = run("privacy", "epsilon", "--sampling-rate", "0.04", "--noise-multiplier", Double.toString(sigma),
        "--steps", "2250", "--delta", "1e-5", "--json");
    assertThat(back.json().get("epsilon").asDouble()).isLessThanOrEqualTo(8.0);
    Result text = run("privacy", "calibrate", "--target-epsilon", "8", "--delta", "1e-5", "--sampling-rate", "0.04",
        "--steps", "2250");
    assertThat(text.out()).startsWith("noise multiplier = 1.41");
  }

  @Test
  void calibratePrintsSigmaRoundedUpSoThePrintedSigmaMeetsTheTarget() throws Exception {
    // target 1.6, delta 1e-5, q 0.04, 500 steps: sigma = 2.5378418..., which %.6g prints as
    // 2.53784, and sigma 2.53784 gives epsilon 1.6000012 > 1.6. The sentence must print 2.53785.
    Result r = run("privacy", "calibrate", "--target-epsilon", "1.6", "--delta", "1e-5", "--sampling-rate", "0.04",
        "--steps", "500");
    assertThat(r.code()).isZero();
    String printed = r.out().replaceFirst("^noise multiplier = (\\S+) .*\\R?$", "$1").trim();
    assertThat(printed).isEqualTo("2.53785");
    Result back = run("privacy", "epsilon", "--sampling-rate", "0.04", "--noise-multiplier", printed,
        "--steps", "500", "--delta", "1e-5", "--json");
    assertThat(back.json().get("epsilon").asDouble()).isLessThanOrEqualTo(1.6);
    // the naive rendering would not have met the target (the test has teeth)
    Result naive = run("privacy", "epsilon", "--sampling-rate", "0.04", "--noise-multiplier", "2.53784",
        "--steps", "500", "--delta", "1e-5", "--json");
    assertThat(naive.json().get("epsilon").asDouble()).isGreaterThan(1.6);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "epsilon --sampling-rate 1.5 --noise-multiplier 1 --steps 10 --delta 1e-5 | --sampling-rate must be in (0, 1], got 1.5",
      "epsilon --sampling-rate 0 --noise-multiplier 1 --steps 10 --delta 1e-5 | --sampling-rate must be in (0, 1], got 0.0",
      "epsilon --sampling-rate NaN --noise-multiplier 1 --steps 10 --delta 1e-5 | --sampling-rate must be in (0, 1], got NaN",
      "epsilon --sampling-rate 0.1 --noise-multiplier 0 --steps 10 --delta 1e-5 | --noise-multiplier must be a finite number > 0, got 0.0",
      "epsilon --sampling-rate 0.1 --noise-multiplier -2 --steps 10 --delta 1e-5 | --noise-multiplier must be a finite number > 0, got -2.0",
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps -1 --delta 1e-5 | --steps must be >= 0, got -1",
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 --delta 0 | --delta must be in (0, 1), got 0.0",
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 --delta 1 | --delta must be in (0, 1), got 1.0",
      "epsilon --sampling-rate abc --noise-multiplier 1 --steps 10 --delta 1e-5 | --sampling-rate",
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps ten --delta 1e-5 | --steps",
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 | --delta",
      "epsilon --sampling-rate 0.1 --noise-multiplier 1 --steps 10 --delta 1e-5 --accountant gdp | --accountant",
      "delta --sampling-rate 0.1 --noise-multiplier 1 --steps 10 --epsilon -1 | --epsilon must be a finite number >= 0, got -1.0",
      "calibrate --target-epsilon 0 --delta 1e-5 --sampling-rate 0.1 --steps 10 | --target-epsilon must be a finite number > 0, got 0.0",
      "calibrate --target-epsilon 1 --delta 2 --sampling-rate 0.1 --steps 10 | --delta must be in (0, 1), got 2.0",
      "calibrate --target-epsilon 1 --delta 1e-5 --sampling-rate 0.1 --steps -5 | --steps must be >= 0, got -5",
      "epsilon --sampling-rate 1 --noise-multiplier 0.001 --steps 1 --delta 1e-5 --accountant pld | use the RDP accountant",
  })
  void invalidArgumentsExitWithCode2NamingTheArgument(String args, String message) {
    String[] argv = ("privacy " + args).trim().split(" +");
    Result r = run(argv);
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains(message);
    assertThat(r.out()).isEmpty();
  }

  @Test
  void missingSubcommandIsAUsageError() {
    Result r = run("privacy");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("missing subcommand");
  }
}
