package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class AuditCommandTest {
  private record Result(int code, String out, String err) {
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
  void violationWhenTheAccountantIsToldTenTimesMoreNoise(@TempDir Path dir) throws Exception {
    Path html = dir.resolve("audit.html");
    Result r = run("audit", "--dataset", "builtin:wdbc", "--model", "logreg", "--canaries", "1000",
        "--noise-multiplier", "0.3", "--assume-noise-multiplier", "3", "--seed", "1", "--json",
        "--out", dir.toString(), "--report", html.toString());
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("verdict").asText()).isEqualTo("violation");
    assertThat(j.get("epsilon_lower_bound").asDouble()).isGreaterThan(j.get("epsilon_upper_bound").asDouble());
    assertThat(j.get("confidence").asDouble()).isEqualTo(0.95);
    assertThat(j.get("canaries").asInt()).isEqualTo(1000);
    assertThat(j.get("correct").asInt()).isLessThanOrEqualTo(j.get("guesses").asInt()).isPositive();
    assertThat(Files.readAllLines(dir.resolve("scores.csv"))).hasSize(1001);
    String page = Files.readString(html);
    assertThat(page).contains("<svg", "violation").doesNotContain("<script", "src=", "href=");
  }

  @Test
  void canarySitesWithoutCentralDpAreNotProtectedAndWithItConsistent() throws Exception {
    Result r = run("audit", "--kind", "sites", "--canaries", "500", "--steps", "3", "--noise-multiplier", "0",
        "--seed", "4", "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("verdict").asText()).isEqualTo("not_protected");
    assertThat(j.get("epsilon_upper_bound").isNull()).isTrue();
    assertThat(j.get("epsilon_lower_bound").asDouble()).isPositive();
    r = run("audit", "--kind", "sites", "--canaries", "500", "--steps", "3", "--noise-multiplier", "1",
        "--seed", "4", "--json");
    assertThat(r.code()).as(r.err()).isZero();
    j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("verdict").asText()).isEqualTo("consistent");
    assertThat(j.get("epsilon_estimate_per_round")).hasSize(3);
    assertThat(j.get("epsilon_lower_bound").asDouble()).isLessThanOrEqualTo(j.get("epsilon_upper_bound").asDouble());
  }

  @Test
  void badSettingsAreUsageErrors() {
    Result r = run("audit", "--kind", "sites", "--noise-multiplier", "1", "--canaries", "1");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("at least 2 canary sites");
    r = run("audit", "--noise-multiplier", "1", "--sampling-rate", "1.5");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("sampling rate must be in (0, 1]");
    r = run("audit", "--canaries", "10");
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--noise-multiplier");
  }
}
