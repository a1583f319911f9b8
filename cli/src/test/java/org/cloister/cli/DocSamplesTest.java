package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The sample outputs in README.md and docs/*.md are what the commands print now. A sample is marked
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
 * {@code -Pslow}). A long output is shown as an excerpt: {@code <!-- sample slow: cloister demo | lines 1,10-12,-1 -->}
 * keeps those lines of what the command prints (1-based, negative from the end) and marks each gap with
 * {@code ...}, so the reader sees a short block that is still regenerated, never edited by hand. Each command runs in this JVM through {@link CloisterCommand}; the parts that
 * change from run to run (durations, temporary paths) are normalised. A sample that differs fails with
 * both versions; {@code scripts/regenerate-samples} (this test with {@code -Dcloister.samples.write=true})
 * rewrites the blocks from the current output.
 */
class DocSamplesTest {
  static final Pattern SAMPLE = Pattern.compile(
      "<!-- sample( slow)?: (cloister [^\\n]*?) -->\\n```(\\w*)\\n(.*?)```\\n<!-- /sample -->", Pattern.DOTALL);

  private static Path root() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isRegularFile(d.resolve("README.md")) && Files.isDirectory(d.resolve("docs"))) {
        return d;
      }
    }
    throw new AssertionError("README.md and docs/ not found above " + Path.of("").toAbsolutePath());
  }

  static List<Path> documents() throws IOException {
    Path root = root();
    List<Path> docs = new ArrayList<>(List.of(root.resolve("README.md")));
    try (Stream<Path> s = Files.list(root.resolve("docs"))) {
      s.filter(p -> p.toString().endsWith(".md")).sorted().forEach(docs::add);
    }
    return docs;
  }

  /** Splits a command line as a shell would for plain words and single or double quotes. */
  static List<String> words(String line) {
    List<String> out = new ArrayList<>();
    Matcher m = Pattern.compile("'([^']*)'|\"([^\"]*)\"|(\\S+)").matcher(line);
    while (m.find()) {
      out.add(m.group(1) != null ? m.group(1) : m.group(2) != null ? m.group(2) : m.group(3));
    }
    return out;
  }

  /** What the command prints now, as the sample block shows it: the command, its output, and a non-zero exit. */
  static String run(String marker) {
    int bar = marker.indexOf(" | lines ");
    String command = bar < 0 ? marker : marker.substring(0, bar);
    List<String> w = words(command);
    CommandLineRun r = CommandLineRun.of(w.subList(1, w.size()).toArray(new String[0]));
    String out = normalise(r.out());
    if (bar >= 0) {
      out = excerpt(out, marker.substring(bar + " | lines ".length()).trim());
    }
    StringBuilder b = new StringBuilder("$ ").append(command).append('\n').append(out);
    if (r.code() != 0) {
      b.append(normalise(r.err())).append("(exit ").append(r.code()).append(")\n");
    }
    return b.toString();
  }

  /**
   * The lines of {@code output} that {@code spec} selects ({@code 1,10-12,-1}: 1-based, negative from the end), in
   * order, with {@code ...} for each run of lines left out (before, between or after them).
   */
  static String excerpt(String output, String spec) {
    List<String> lines = output.lines().toList();
    java.util.TreeSet<Integer> keep = new java.util.TreeSet<>();
    for (String part : spec.split(",")) {
      String p = part.trim();
      int dash = p.indexOf('-', 1);
      int from = index(dash < 0 ? p : p.substring(0, dash), lines.size());
      int to = dash < 0 ? from : index(p.substring(dash + 1), lines.size());
      if (from < 0 || to >= lines.size() || from > to) {
        throw new AssertionError("excerpt '" + spec + "': '" + p + "' is outside the " + lines.size() + " lines printed:\n" + output);
      }
      for (int i = from; i <= to; i++) {
        keep.add(i);
      }
    }
    StringBuilder b = new StringBuilder();
    int next = 0;
    for (int i : keep) {
      if (i > next) {
        b.append("...\n");
      }
      b.append(lines.get(i)).append('\n');
      next = i + 1;
    }
    if (next < lines.size()) {
      b.append("...\n");
    }
    return b.toString();
  }

  private static int index(String oneBased, int size) {
    int n = Integer.parseInt(oneBased.trim());
    return n < 0 ? size + n : n - 1;
  }

  /** Durations and temporary paths change from run to run; the sample shows them normalised. */
  static String normalise(String s) {
    return s.replaceAll("\\(\\d+(\\.\\d+)? (s|ms)\\)", "(N $2)")
        .replaceAll("\\(\\d+(\\.\\d+)? (s|ms), \\d+(\\.\\d+)? sites/s, ETA \\d+ (s|min|h)\\)", "(N $2, N sites/s, ETA N $4)")
        .replaceAll("in \\d+(\\.\\d+)? (s|ms)\\b", "in N $2")
        .replaceAll("/tmp/[^\\s\"']+", "TMP")
        .replaceAll("-\\d{8}-\\d{6}(-\\d+)?/", "-YYYYMMDD-HHMMSS/");
  }

  record CommandLineRun(int code, String out, String err) {
    static CommandLineRun of(String... args) {
      picocli.CommandLine cl = CloisterCommand.commandLine();
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      cl.setOut(new PrintWriter(out));
      cl.setErr(new PrintWriter(err));
      int code = cl.execute(args);
      return new CommandLineRun(code, out.toString(), err.toString());
    }
  }

  private static void check(boolean slow) throws IOException {
    boolean write = Boolean.getBoolean("cloister.samples.write");
    List<String> stale = new ArrayList<>();
    int checked = 0;
    for (Path doc : documents()) {
      String text = Files.readString(doc, StandardCharsets.UTF_8);
      Matcher m = SAMPLE.matcher(text);
      StringBuilder rewritten = new StringBuilder();
      while (m.find()) {
        boolean isSlow = m.group(1) != null;
        String replacement = m.group();
        if (isSlow == slow) {
          checked++;
          String now = run(m.group(2));
          if (!now.equals(m.group(4))) {
            stale.add(doc.getFileName() + ": " + m.group(2) + "\n--- the document shows\n" + m.group(4)
                + "--- the command prints now\n" + now);
            replacement = "<!-- sample" + (isSlow ? " slow" : "") + ": " + m.group(2) + " -->\n```" + m.group(3) + "\n" + now
                + "```\n<!-- /sample -->";
          }
        }
        m.appendReplacement(rewritten, Matcher.quoteReplacement(replacement));
      }
      m.appendTail(rewritten);
      if (write && !rewritten.toString().equals(text)) {
        Files.writeString(doc, rewritten.toString(), StandardCharsets.UTF_8);
      }
    }
    if (!slow) {
      assertThat(checked).as("marked samples in README.md and docs/").isGreaterThanOrEqualTo(3);
    }
    if (!write) {
      assertThat(stale).as("samples that differ from what the command prints now (scripts/regenerate-samples rewrites them)")
          .isEmpty();
    }
  }

  @Test
  void everyMarkedSampleIsWhatTheCommandPrintsNow() throws IOException {
    check(false);
  }

  @Test
  @Tag("slow")
  void everySlowMarkedSampleIsWhatTheCommandPrintsNow() throws IOException {
    check(true);
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
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> excerpt(out, "1,9")).hasMessageContaining("outside the 6 lines");
  }
}
