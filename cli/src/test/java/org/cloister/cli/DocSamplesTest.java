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
 * {@code -Pslow}). Each command runs in this JVM through {@link CloisterCommand}; the parts that
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
  static String run(String command) {
    List<String> w = words(command);
    CommandLineRun r = CommandLineRun.of(w.subList(1, w.size()).toArray(new String[0]));
    StringBuilder b = new StringBuilder("$ ").append(command).append('\n').append(normalise(r.out()));
    if (r.code() != 0) {
      b.append(normalise(r.err())).append("(exit ").append(r.code()).append(")\n");
    }
    return b.toString();
  }

  /** Durations and temporary paths change from run to run; the sample shows them normalised. */
  static String normalise(String s) {
    return s.replaceAll("\\(\\d+(\\.\\d+)? (s|ms)\\)", "(N $2)")
        .replaceAll("in \\d+(\\.\\d+)? (s|ms)\\b", "in N $2")
        .replaceAll("/tmp/[^\\s\"']+", "TMP");
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
    assertThat(words("cloister a 'b c' \"d e\" f")).containsExactly("cloister", "a", "b c", "d e", "f");
  }
}
