package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.cloister.cli.DocSamples.excerpt;
import static org.cloister.cli.DocSamples.normalise;
import static org.cloister.cli.DocSamples.words;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample outputs in README.md and docs/*.md are what the commands print now, and no fenced block is an
 * output that nothing checks (the kinds of block and their markers: {@link DocSamples}). A sample is marked
 *
 * <pre>
 * &lt;!-- sample: cloister privacy epsilon --steps 100 ... --&gt;
 * ```
 * $ cloister privacy epsilon --steps 100 ...
 * (what it prints)
 * ```
 * &lt;!-- /sample --&gt;
 * </pre>
 *
 * and {@code <!-- sample slow: ... -->} for one that takes more than a few seconds (checked with
 * {@code -Pslow}). Each command runs in this JVM through {@link CloisterCommand}, as from the repository's root;
 * the parts that change from run to run (durations, temporary paths) are normalised. A sample that differs fails
 * with both versions; {@code scripts/regenerate-samples} (this test with {@code -Dcloister.samples.write=true})
 * rewrites the blocks from the current output.
 */
class DocSamplesTest {

  @Test
  void everyMarkedSampleIsWhatTheCommandPrintsNow() throws IOException {
    assertThat(DocSamples.checkCommandSamples(false)).as("marked samples in README.md and docs/").isGreaterThanOrEqualTo(3);
  }

  @Test
  @Tag("slow")
  void everySlowMarkedSampleIsWhatTheCommandPrintsNow() throws IOException {
    DocSamples.checkCommandSamples(true);
  }

  @Test
  void everyCodeBlockIsCheckedOrMarkedAndItsCommandsExist() throws IOException {
    List<String> problems = new ArrayList<>();
    int commands = 0;
    for (Path doc : DocSamples.documents()) {
      for (DocSamples.Block b : DocSamples.codeBlocks(doc)) {
        String kind = DocSamples.kind(b);
        if (kind == null) {
          problems.add(b.where() + ": a code block that nothing checks (" + (b.info().isEmpty() ? "no info string" : b.info())
              + "): mark it as a sample (<!-- sample: cloister ... -->), a process sample, <!-- illustrative: why -->, "
              + "<!-- figure -->, or fence it with the info string bash, yaml or java if it is commands or a file to copy");
          continue;
        }
        if (kind.equals("bash") || kind.equals("illustrative")) {
          for (String command : DocSamples.commandLines(b.text())) {
            commands++;
            DocSamples.commandProblems(command).forEach(p -> problems.add(b.where() + ": cloister " + command + "\n    " + p));
          }
        }
      }
    }
    assertThat(problems).as("code blocks in README.md and docs/*.md").isEmpty();
    assertThat(commands).as("documented cloister commands checked against the command tree").isGreaterThan(30);
  }

  @Test
  void anUnmarkedOutputBlockOrAMisspelledOptionIsFound(@TempDir Path dir) throws IOException {
    Path doc = Files.writeString(dir.resolve("x.md"), String.join("\n", "text", "```", "round 1/3 accuracy 0.9", "```",
        "<!-- figure -->", "```", "a -> b", "```", "```bash", "./cloister ledger verify --database x.db --trust-rot ca.crt", "```",
        "<!-- illustrative: a synopsis -->", "```", "cloister audit --noise-multiplier S [--seed N] [--json]", "```", "",
        "pasted, indented:", "", "    study s: 9 entries: valid", "", "- a list", "", "  ````yaml", "  a: 1", "  ````", ""));
    List<DocSamples.Block> blocks = DocSamples.codeBlocks(doc);
    assertThat(blocks).extracting(DocSamples::kind).containsExactly(null, "figure", "bash", "illustrative", null, "yaml");
    assertThat(blocks.get(4).line()).isEqualTo(19);
    assertThat(DocSamples.commandProblems(DocSamples.commandLines(blocks.get(2).text()).get(0)))
        .containsExactly("cloister ledger verify: no option --trust-rot");
    assertThat(DocSamples.commandProblems(DocSamples.commandLines(blocks.get(3).text()).get(0))).isEmpty();
    assertThat(DocSamples.commandProblems("ledger verfiy --database x.db")).singleElement().asString()
        .contains("no subcommand 'verfiy'");
    assertThat(DocSamples.commandLines("cd x && ./cloister demo --rounds 3   # a study\n"
        + "for s in 1 2; do ./cloister site start \\\n    --config kits/site-$s/site.yaml & done\n# cloister not-a-command"))
        .containsExactly("demo --rounds 3", "site start --config kits/site-$s/site.yaml");
  }

  @Test
  void aSampleCommandSeesTheRepositorysFilesAsAUserInItsRootDoes() {
    try (DocSamples.Runner runner = new DocSamples.Runner()) {
      assertThat(runner.resolve("examples/wdbc-dirichlet-eps1.yaml")).isEqualTo(
          DocSamples.root().resolve("examples/wdbc-dirichlet-eps1.yaml"));
      assertThat(runner.resolve("out/wdbc/report.html")).isEqualTo(Path.of("out/wdbc/report.html"));
      assertThat(runner.resolve("examples/no-such.yaml")).isEqualTo(Path.of("examples/no-such.yaml"));
      // the test runs in cli/, where examples/ is not: the command finds the file and prints the path as written
      String shown = runner.show("cloister simulate examples/wdbc-dirichlet-eps1.yaml --rounds 0");
      assertThat(shown).startsWith("$ cloister simulate examples/wdbc-dirichlet-eps1.yaml --rounds 0\n")
          .contains("--rounds must be >= 1, got 0").contains("(exit 2)")
          .doesNotContain("cannot read scenario").doesNotContain(DocSamples.root().toString());
    }
  }

  @Test
  void maskingHidesOnlyWhatChangesBetweenRuns() {
    String a = "[grpc-default-executor-4] coordinator: study s, listening on 0.0.0.0:19123 (mTLS), metrics on port 40211, pid 812\n"
        + "2026-12-05T08:01:02.123Z round 1: 3 of 3 sites, head 1f8431fbd4fa9a1d…, accuracy 0.8421 (1.2 s)\n";
    String b = "[grpc-default-executor-0] coordinator: study s, listening on 0.0.0.0:7443 (mTLS), metrics on port 9464, pid 77\n"
        + "2026-12-06T10:11:12.9Z round 1: 3 of 3 sites, head 0a0b0c0d0e0f0a0b…, accuracy 0.9053 (870 ms)\n";
    assertThat(DocSamples.Mask.all(DocSamples.PROCESS_MASKS, a)).isEqualTo(DocSamples.Mask.all(DocSamples.PROCESS_MASKS, b));
    // what is not volatile still counts: the rounds, the sites, the words
    assertThat(DocSamples.Mask.all(DocSamples.PROCESS_MASKS, a.replace("3 of 3", "2 of 3")))
        .isNotEqualTo(DocSamples.Mask.all(DocSamples.PROCESS_MASKS, b));
    String table = "epsilon     accuracy    auc         loss        max_epsilon  delta       noise_multiplier  wall_s\n"
        + "0.5         0.9292      0.9779      0.2351      0.4997       1.000e-05   10.79             21.01\n";
    assertThat(DocSamples.Mask.all(DocSamples.SLOW_MASKS, table))
        .isEqualTo(DocSamples.Mask.all(DocSamples.SLOW_MASKS, table.replace("21.01", "9.3")))
        .isNotEqualTo(DocSamples.Mask.all(DocSamples.SLOW_MASKS, table.replace("0.9292", "0.9381")));
    assertThat(DocSamples.Mask.all(DocSamples.SLOW_MASKS, "\"accuracy\" : 0.8407079646017699,\n\"duration_ms\" : 1029"))
        .isEqualTo("\"accuracy\" : 0.8407,\n\"duration_ms\" : N");
  }

  @Test
  void normalisingRemovesOnlyWhatChangesFromRunToRun() {
    assertThat(normalise("round  1/10  sites 3/3  accuracy 0.8850  (8.7 s)\nResults: /tmp/junit123/out/results.json\n"))
        .isEqualTo("round  1/10  sites 3/3  accuracy 0.8850  (N s)\nResults: TMP\n");
    assertThat(normalise("round  9/10  sites 3/3  loss 0.1418  (0.2 s, 18.5 sites/s, ETA 1 s)"))
        .isEqualTo("round  9/10  sites 3/3  loss 0.1418  (N s, N sites/s, ETA N s)");
    assertThat(words("cloister a 'b c' \"d e\" f")).containsExactly("cloister", "a", "b c", "d e", "f");
    assertThat(normalise("Results: out/demo-20261205-054500/results.json and out/demo-20261205-054500-2/rounds.csv"))
        .isEqualTo("Results: out/demo-YYYYMMDD-HHMMSS/results.json and out/demo-YYYYMMDD-HHMMSS/rounds.csv");
  }

  @Test
  void anExcerptKeepsTheSelectedLinesAndMarksEachGap() {
    String out = "r1\nr2\nr3\nr4\nsummary\nresults\n";
    assertThat(excerpt(out, "1,3-4,-1")).isEqualTo("r1\n...\nr3\nr4\n...\nresults\n");
    assertThat(excerpt(out, "2")).isEqualTo("...\nr2\n...\n");
    assertThat(excerpt(out, "1-6")).isEqualTo(out);
    assertThat(excerpt(out, "-3--1")).isEqualTo("...\nr4\nsummary\nresults\n");
    assertThatThrownBy(() -> excerpt(out, "1,9")).hasMessageContaining("outside the 6 lines");
  }
}
