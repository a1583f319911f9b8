package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.commonmark.node.AbstractVisitor;
import org.commonmark.node.FencedCodeBlock;
import org.commonmark.node.IndentedCodeBlock;
import org.commonmark.node.Node;
import org.commonmark.parser.IncludeSourceSpans;
import org.commonmark.parser.Parser;
import picocli.CommandLine;

/**
 * The sample outputs in README.md and docs/*.md, and the rules that keep them true. Every fenced block in
 * those pages is one of:
 *
 * <ul>
 *   <li>a <b>command sample</b>: {@code <!-- sample: cloister ARGS -->} (or {@code sample slow:}, checked with
 *       {@code -Pslow}) before the block and {@code <!-- /sample -->} after it. The command runs in this JVM
 *       ({@link DocSamplesTest}) as from the repository's root ({@link Runner}). Suffixes: {@code | file PATH}
 *       shows the file the command wrote instead of what it printed, {@code | lines 1,10-12,-1} an excerpt
 *       (1-based, negative from the end; each gap is {@code ...}).</li>
 *   <li>a <b>process sample</b>: {@code <!-- sample process: deployment-walkthrough/coordinator.txt | lines 1-3;
 *       deployment-walkthrough/site-1.txt -->}: transcripts (under {@code cli/target/}) that a test with real
 *       processes writes and compares, in its own run ({@link #checkProcessSamples}), with the volatile parts
 *       masked ({@link #PROCESS_MASKS}).</li>
 *   <li>an <b>illustrative</b> block, {@code <!-- illustrative: why -->} before it: not regenerated, but every
 *       {@code cloister} command in it names real commands and options ({@link #commandProblems}).</li>
 *   <li>a <b>figure</b> (a diagram or a formula), {@code <!-- figure -->} before it.</li>
 *   <li>commands or files to copy, with the info string {@code bash}, {@code yaml} or {@code java}; the
 *       {@code cloister} commands of a {@code bash} block are checked like an illustrative block's.</li>
 * </ul>
 *
 * {@code scripts/regenerate-samples} rewrites the samples from what the commands print now.
 */
public final class DocSamples {
  static final Pattern SAMPLE = Pattern.compile(
      "<!-- sample( slow)?: (cloister [^\\n]*?) -->\\n```(\\w*)\\n(.*?)```\\n<!-- /sample -->", Pattern.DOTALL);
  static final Pattern PROCESS_SAMPLE = Pattern.compile(
      "<!-- sample process: ([^\\n]*?) -->\\n```(\\w*)\\n(.*?)```\\n<!-- /sample -->", Pattern.DOTALL);
  static final Set<String> COPYABLE = Set.of("bash", "yaml", "java");

  /**
   * What changes from one run of real processes to the next and is masked before a process sample is
   * compared (the document shows one run's values). Deployments draw noise and sampling from OS entropy, so
   * every decimal figure is noised.
   */
  static final List<Mask> PROCESS_MASKS = List.of(
      new Mask("instants", "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z", "TIME"),
      new Mask("clock times", "\\b\\d{2}:\\d{2}:\\d{2}([.,]\\d+)?\\b", "TIME"),
      new Mask("hashes and digests", "\\b[0-9a-f]{8,}\\b…?", "HASH"),
      new Mask("temporary paths", "/tmp/[^\\s\"']+", "TMP"),
      new Mask("ports", "(?<=[\\w\\]]:)\\d{1,5}\\b|(?<=port )\\d+", "PORT"),
      new Mask("process ids", "(?<=pid )\\d+", "PID"),
      new Mask("thread numbers", "(?<=executor-)\\d+", "N"),
      new Mask("durations", "\\b\\d+(\\.\\d+)? ?(ms|s|min)\\b", "N s"),
      new Mask("noised figures", "\\b\\d+\\.\\d+(e-?\\d+)?\\b", "N.N"),
      new Mask("column alignment (widths follow the figures)", " {2,}", " "));

  /**
   * What changes from one run of a deterministic simulation to the next: wall-clock figures, and the last
   * bits of long decimals (the enclave sums updates in their arrival order).
   */
  static final List<Mask> SLOW_MASKS = List.of(
      new Mask("the wall_s column of a sweep's table", "(?m)^((?:[-+.\\deE]+ +){7})\\d+(\\.\\d+)?$", "$1N"),
      new Mask("durations in results.json", "\"(duration_ms|wall_ms)\" : \\d+", "\"$1\" : N"),
      new Mask("long decimals' last digits", "\\b(\\d+\\.\\d{4})\\d{2,}", "$1"));

  /** A masking rule: what it masks, the pattern and its replacement. */
  public record Mask(String what, String regex, String replacement) {
    String apply(String s) {
      return s.replaceAll(regex, replacement);
    }

    static String all(List<Mask> masks, String s) {
      for (Mask m : masks) {
        s = m.apply(s);
      }
      return s;
    }
  }

  private DocSamples() {
  }

  static Path root() {
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

  /**
   * The lines of {@code output} that {@code spec} selects ({@code 1,10-12,-1}: 1-based, negative from the end), in
   * order, with {@code ...} for each run of lines left out (before, between or after them).
   */
  static String excerpt(String output, String spec) {
    List<String> lines = output.lines().toList();
    TreeSet<Integer> keep = new TreeSet<>();
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

  // ---------------------------------------------------------------------------------------------------------
  // command samples, run in this JVM

  /** One command line run in this JVM: its exit code and what it printed. */
  record CommandLineRun(int code, String out, String err) {
  }

  /**
   * Runs sample commands in this JVM as a user in the repository's root would. The test's working directory is
   * {@code cli/}: a relative path that names a file of the repository (an input such as {@code examples/...})
   * is given to the command as that file and prints as written; outputs stay relative, so that a run writes,
   * links and prints its folders exactly as for the user (under {@code cli/out/}, ignored by git). An output
   * path the command names under {@code out/} is removed first: each sample is a first run. A command that
   * several samples show runs once.
   */
  static final class Runner implements AutoCloseable {
    private final Path root = root();
    private final Map<String, CommandLineRun> runs = new HashMap<>();

    CommandLineRun run(String command) {
      return runs.computeIfAbsent(command, this::execute);
    }

    private CommandLineRun execute(String command) {
      List<String> w = words(command);
      for (String word : w) {
        Path p = Path.of(word.substring(word.indexOf('=') + 1));
        if (!p.isAbsolute() && p.normalize().startsWith("out") && p.normalize().getNameCount() > 1) {
          delete(p.normalize());
        }
      }
      CommandLine cl = CloisterCommand.commandLine();
      cl.registerConverter(Path.class, this::resolve);
      cl.registerConverter(java.io.File.class, s -> resolve(s).toFile());
      StringWriter out = new StringWriter();
      StringWriter err = new StringWriter();
      cl.setOut(new PrintWriter(out));
      cl.setErr(new PrintWriter(err));
      int code = cl.execute(w.subList(1, w.size()).toArray(new String[0]));
      return new CommandLineRun(code, relative(out.toString()), relative(err.toString()));
    }

    /** A relative path as the command would see it from the repository's root. */
    Path resolve(String s) {
      Path p = Path.of(s);
      if (p.isAbsolute() || p.normalize().startsWith("out")) {
        return p;
      }
      Path inRepo = root.resolve(p).normalize();
      return Files.isRegularFile(inRepo) ? inRepo : p;
    }

    private String relative(String printed) {
      return printed.replace(root + "/", "");
    }

    private static void delete(Path p) {
      if (Files.isSymbolicLink(p) || Files.isRegularFile(p)) {
        p.toFile().delete();
      } else if (Files.isDirectory(p)) {
        try (Stream<Path> s = Files.walk(p)) {
          s.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }

    /** What the sample block shows for {@code marker}: the command, its output (or a file), a non-zero exit. */
    String show(String marker) {
      String[] parts = marker.split(" \\| ");
      String command = parts[0];
      String file = null;
      String lines = null;
      for (int i = 1; i < parts.length; i++) {
        if (parts[i].startsWith("file ")) {
          file = parts[i].substring("file ".length()).trim();
        } else if (parts[i].startsWith("lines ")) {
          lines = parts[i].substring("lines ".length()).trim();
        } else {
          throw new AssertionError("sample '" + marker + "': unknown suffix '" + parts[i] + "' (file PATH, lines SPEC)");
        }
      }
      CommandLineRun r = run(command);
      StringBuilder b = new StringBuilder();
      String out;
      if (file != null) {
        if (r.code() != 0) {
          throw new AssertionError(command + " exited " + r.code() + ":\n" + r.out() + r.err());
        }
        b.append("$ cat ").append(file).append("   # after ").append(command).append('\n');
        try {
          out = normalise(Files.readString(resolve(file), StandardCharsets.UTF_8));
        } catch (IOException e) {
          throw new AssertionError(command + " wrote no " + file, e);
        }
      } else {
        b.append("$ ").append(command).append('\n');
        out = normalise(r.out());
      }
      b.append(lines == null ? out : excerpt(out, lines));
      if (file == null && r.code() != 0) {
        b.append(normalise(r.err())).append("(exit ").append(r.code()).append(")\n");
      }
      return b.toString();
    }

    @Override
    public void close() {
      runs.clear();
    }
  }

  /**
   * Checks (or, with {@code -Dcloister.samples.write=true}, rewrites) the command samples of one kind.
   *
   * @return how many were checked
   */
  static int checkCommandSamples(boolean slow) throws IOException {
    boolean write = Boolean.getBoolean("cloister.samples.write");
    List<String> stale = new ArrayList<>();
    int checked = 0;
    try (Runner runner = new Runner()) {
      for (Path doc : documents()) {
        String text = Files.readString(doc, StandardCharsets.UTF_8);
        Matcher m = SAMPLE.matcher(text);
        StringBuilder rewritten = new StringBuilder();
        while (m.find()) {
          boolean isSlow = m.group(1) != null;
          String replacement = m.group();
          if (isSlow == slow) {
            checked++;
            String now = runner.show(m.group(2));
            boolean same = slow ? Mask.all(SLOW_MASKS, now).equals(Mask.all(SLOW_MASKS, m.group(4))) : now.equals(m.group(4));
            if (!same) {
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
    }
    if (!write) {
      assertThat(stale).as("samples that differ from what the command prints now (scripts/regenerate-samples rewrites them)")
          .isEmpty();
    }
    return checked;
  }

  // ---------------------------------------------------------------------------------------------------------
  // process samples: transcripts of real processes, compared in the run of the test that writes them

  static Path transcripts() {
    return root().resolve("cli/target");
  }

  /**
   * Compares every process sample whose transcripts are all under {@code prefix} (relative to
   * {@code cli/target/}) with the transcripts this run wrote, volatile parts masked ({@link #PROCESS_MASKS}, then
   * {@code extraMask}); with {@code -Dcloister.samples.write=true} rewrites the stale ones instead.
   * {@code shorten} turns this run's temporary paths and ports into the ones the document uses (literal
   * replacements, in order), before the excerpt is taken.
   *
   * @return how many samples were checked (at least one, or this fails)
   */
  public static int checkProcessSamples(String prefix, Map<String, String> shorten, UnaryOperator<String> extraMask)
      throws IOException {
    boolean write = Boolean.getBoolean("cloister.samples.write");
    List<String> stale = new ArrayList<>();
    int checked = 0;
    for (Path doc : documents()) {
      String text = Files.readString(doc, StandardCharsets.UTF_8);
      Matcher m = PROCESS_SAMPLE.matcher(text);
      StringBuilder rewritten = new StringBuilder();
      while (m.find()) {
        String replacement = m.group();
        List<String[]> sources = new ArrayList<>();
        for (String part : m.group(1).split(";")) {
          String[] fileAndLines = part.trim().split(" \\| lines ");
          sources.add(fileAndLines);
        }
        if (sources.stream().allMatch(s -> s[0].startsWith(prefix))) {
          checked++;
          StringBuilder now = new StringBuilder();
          for (String[] s : sources) {
            Path f = transcripts().resolve(s[0]);
            assertThat(f).as("%s: the transcript of %s", doc.getFileName(), m.group(1)).exists();
            String t = Files.readString(f, StandardCharsets.UTF_8);
            for (Map.Entry<String, String> e : shorten.entrySet()) {
              t = t.replace(e.getKey(), e.getValue());
            }
            now.append(s.length > 1 ? excerpt(t, s[1]) : t.endsWith("\n") ? t : t + "\n");
          }
          UnaryOperator<String> mask = s -> extraMask.apply(Mask.all(PROCESS_MASKS, s));
          if (!mask.apply(now.toString()).equals(mask.apply(m.group(3)))) {
            stale.add(doc.getFileName() + ": " + m.group(1) + "\n--- the document shows\n" + m.group(3)
                + "--- this run wrote\n" + now + "--- masked, the document\n" + mask.apply(m.group(3)) + "\n--- masked, this run\n"
                + mask.apply(now.toString()));
            replacement = "<!-- sample process: " + m.group(1) + " -->\n```" + m.group(2) + "\n" + now + "```\n<!-- /sample -->";
          }
        }
        m.appendReplacement(rewritten, Matcher.quoteReplacement(replacement));
      }
      m.appendTail(rewritten);
      if (write && !rewritten.toString().equals(text)) {
        Files.writeString(doc, rewritten.toString(), StandardCharsets.UTF_8);
      }
    }
    assertThat(checked).as("process samples from %s in README.md and docs/", prefix).isPositive();
    if (!write) {
      assertThat(stale).as("process samples that differ from this run's transcripts, volatile parts masked "
          + "(scripts/regenerate-samples --processes rewrites them)").isEmpty();
    }
    return checked;
  }

  /** {@link #checkProcessSamples(String, Map, UnaryOperator)} with the standard masks only. */
  public static int checkProcessSamples(String prefix, Map<String, String> shorten) throws IOException {
    return checkProcessSamples(prefix, shorten, UnaryOperator.identity());
  }

  /** Literal replacements in order (for {@code shorten}). */
  public static Map<String, String> replacements(String... fromTo) {
    Map<String, String> m = new LinkedHashMap<>();
    for (int i = 0; i + 1 < fromTo.length; i += 2) {
      m.put(fromTo[i], fromTo[i + 1]);
    }
    return m;
  }

  // ---------------------------------------------------------------------------------------------------------
  // every code block, and the cloister commands in the copyable and illustrative ones

  /** A code block: where it starts (1-based line), its info string, the comment line before it, its text. */
  record Block(Path doc, int line, String info, String before, String text) {
    String where() {
      return root().relativize(doc) + ":" + line;
    }
  }

  /** Every code block of a page, fenced or indented, as CommonMark parses it. */
  static List<Block> codeBlocks(Path doc) throws IOException {
    String text = Files.readString(doc, StandardCharsets.UTF_8);
    List<String> lines = text.lines().toList();
    List<Block> blocks = new ArrayList<>();
    Node root = Parser.builder().includeSourceSpans(IncludeSourceSpans.BLOCKS).build().parse(text);
    root.accept(new AbstractVisitor() {
      @Override
      public void visit(FencedCodeBlock b) {
        String info = b.getInfo() == null ? "" : b.getInfo().trim().split("\\s+")[0];
        add(b, info, b.getLiteral());
      }

      @Override
      public void visit(IndentedCodeBlock b) {
        add(b, "(indented)", b.getLiteral());
      }

      private void add(Node b, String info, String literal) {
        int line = b.getSourceSpans().get(0).getLineIndex();
        String before = line > 0 ? lines.get(line - 1).trim() : "";
        blocks.add(new Block(doc, line + 1, info, before, literal));
      }
    });
    return blocks;
  }

  /** What kind of block this is, or null for an output block that nothing checks. */
  static String kind(Block b) {
    if (b.before().startsWith("<!-- sample: ") || b.before().startsWith("<!-- sample slow: ")) {
      return "command sample";
    }
    if (b.before().startsWith("<!-- sample process: ")) {
      return "process sample";
    }
    if (b.before().startsWith("<!-- illustrative: ")) {
      return "illustrative";
    }
    if (b.before().equals("<!-- figure -->")) {
      return "figure";
    }
    return COPYABLE.contains(b.info()) ? b.info() : null;
  }

  private static final Pattern CLOISTER = Pattern.compile("(?:^|\\s)(?:\\./)?cloister\\s+(.*)$");

  /**
   * The {@code cloister} command lines of a block (continuation lines joined, a leading {@code $ } dropped, and
   * each command cut at a shell separator or comment).
   */
  static List<String> commandLines(String text) {
    List<String> out = new ArrayList<>();
    String joined = text.replaceAll("\\\\\\n\\s*", " ");
    for (String line : joined.split("\\n")) {
      String l = line.replaceFirst("^\\s*\\$ ", "").replaceFirst("(^|\\s)#.*$", "");
      for (String segment : l.split(" && | \\|\\| | ; |; | \\| | & |&$| &$|\\$\\(|\\)")) {
        Matcher m = CLOISTER.matcher(segment);
        if (m.find()) {
          out.add(m.group(1).trim().replaceAll("\\s+", " "));
        }
      }
    }
    return out;
  }

  /**
   * What is wrong with a documented command line ({@code cloister} left out) against the real picocli command
   * tree: a word where a subcommand is needed that is none, or an option that the command does not have.
   * Values and placeholders are not judged (they are {@code FILE}, {@code HEX}, {@code ...} in the docs).
   */
  static List<String> commandProblems(String args) {
    List<String> problems = new ArrayList<>();
    List<String> w = words(args);
    CommandLine cl = CloisterCommand.commandLine();
    int i = 0;
    while (i < w.size() && cl.getSubcommands().containsKey(w.get(i))) {
      cl = cl.getSubcommands().get(w.get(i));
      i++;
    }
    String name = cl.getCommandSpec().qualifiedName(" ");
    if (cl.getCommandSpec().name().equals("help")) {
      return problems;
    }
    if (i < w.size() && !w.get(i).startsWith("-") && !w.get(i).startsWith("[") && !cl.getSubcommands().isEmpty()
        && cl.getCommandSpec().positionalParameters().isEmpty()) {
      problems.add(name + ": no subcommand '" + w.get(i) + "' (it has " + cl.getSubcommands().keySet() + ")");
      return problems;
    }
    for (; i < w.size(); i++) {
      String word = w.get(i).replaceAll("^[\\[(]+|[\\])]+$|\\.\\.\\.$", "");
      if (!word.matches("--?[A-Za-z].*")) {
        continue;
      }
      String option = word.contains("=") ? word.substring(0, word.indexOf('=')) : word;
      option = option.replaceAll("[\\]),]+$", "");
      if (cl.getCommandSpec().findOption(option) == null && !option.equals("--verbose")) {
        problems.add(name + ": no option " + option);
      }
    }
    return problems;
  }
}
