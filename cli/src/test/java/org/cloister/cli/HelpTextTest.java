package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * {@code --help} as a new user reads it, checked over picocli's whole command tree: every command a
 * one-line summary that is a full sentence, every option and positional parameter a description, and no
 * sentence hard-wrapped over description lines (picocli wraps lines to the terminal itself). README's
 * command table names every command once.
 */
class HelpTextTest {

  /** Every command of the tree by its path ("ledger verify"), the root as "". */
  static Map<String, CommandSpec> commands() {
    Map<String, CommandSpec> all = new LinkedHashMap<>();
    walk(CloisterCommand.commandLine(), "", all);
    return all;
  }

  private static void walk(CommandLine cl, String path, Map<String, CommandSpec> all) {
    all.put(path, cl.getCommandSpec());
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      if (!e.getValue().getCommandSpec().name().equals(e.getKey())) {
        continue; // an alias
      }
      walk(e.getValue(), path.isEmpty() ? e.getKey() : path + " " + e.getKey(), all);
    }
  }

  private static boolean ends(String line) {
    return line.matches("(?s).*[.:!?)]\\s*$") || line.endsWith("`") || line.isBlank();
  }

  @Test
  void everyCommandHasAOneLineSummaryAndEveryOptionADescriptionWithoutHardWraps() {
    List<String> problems = new ArrayList<>();
    commands().forEach((path, spec) -> {
      String name = "cloister" + (path.isEmpty() ? "" : " " + path);
      String[] d = spec.usageMessage().description();
      if (d.length == 0 || d[0].isBlank()) {
        problems.add(name + ": no summary (@Command description)");
      } else {
        if (!ends(d[0])) {
          problems.add(name + ": the summary is not a full sentence or is wrapped: '" + d[0] + "'");
        }
        if (d[0].length() > 160) {
          problems.add(name + ": the summary is longer than one line (" + d[0].length() + " characters)");
        }
        wraps(name, d, problems);
      }
      if (spec.parent() != null && spec.parent().subcommands().containsKey(spec.name())
          && spec.parent().usageMessage().description().length == 0) {
        problems.add(name + ": its parent has no summary");
      }
      for (OptionSpec o : spec.options()) {
        if (o.usageHelp() || o.versionHelp()) {
          continue;
        }
        check(name + " " + o.longestName(), o, problems);
      }
      for (ArgSpec p : spec.positionalParameters()) {
        check(name + " " + p.paramLabel(), p, problems);
      }
    });
    assertThat(problems).isEmpty();
  }

  private static void check(String what, ArgSpec a, List<String> problems) {
    String[] d = a.description();
    if (d.length == 0 || String.join("", d).isBlank()) {
      problems.add(what + ": no description");
      return;
    }
    wraps(what, d, problems);
  }

  /** A description line that ends mid-sentence and a next line that continues it: a hard wrap. */
  private static void wraps(String what, String[] d, List<String> problems) {
    for (int i = 0; i + 1 < d.length; i++) {
      if (!ends(d[i]) && !d[i + 1].isBlank()) {
        problems.add(what + ": sentence hard-wrapped after '" + d[i].substring(Math.max(0, d[i].length() - 30)) + "'");
      }
    }
  }

  private static Path readme() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path p = d.resolve("README.md");
      if (Files.isRegularFile(p) && Files.isDirectory(d.resolve("cli"))) {
        return p;
      }
    }
    throw new AssertionError("README.md not found above " + Path.of("").toAbsolutePath());
  }

  /**
   * The command paths a README row names: {@code cloister study list\|pause ...} names "study list" and
   * "study pause"; words after the command (options, arguments, {@code ...}) are not part of it.
   */
  static List<String> named(String cell, Map<String, CommandSpec> tree) {
    List<String> out = new ArrayList<>();
    for (String mention : cell.split("`, `")) {
      String[] words = mention.replace("`", "").replace("\\|", "|").trim().split("\\s+");
      if (words.length == 0 || !words[0].equals("cloister")) {
        continue;
      }
      List<String> paths = List.of("");
      for (int i = 1; i < words.length; i++) {
        List<String> next = new ArrayList<>();
        for (String p : paths) {
          for (String alt : words[i].split("\\|")) {
            String candidate = p.isEmpty() ? alt : p + " " + alt;
            if (tree.containsKey(candidate)) {
              next.add(candidate);
            }
          }
        }
        if (next.isEmpty()) {
          break;
        }
        paths = next;
      }
      out.addAll(paths);
    }
    return out;
  }

  @Test
  void readmesCommandTableNamesEveryCommandOnce() throws Exception {
    Map<String, CommandSpec> tree = commands();
    List<String> listed = new ArrayList<>();
    Matcher row = Pattern.compile("(?m)^\\| (`cloister[^|]*(?:\\\\\\|[^|]*)*) \\|").matcher(Files.readString(readme()));
    while (row.find()) {
      listed.addAll(named(row.group(1), tree));
    }
    List<String> problems = new ArrayList<>();
    TreeSet<String> seen = new TreeSet<>();
    for (String p : listed) {
      if (!seen.add(p)) {
        problems.add("listed twice: cloister " + p);
      }
    }
    for (String p : seen) {
      for (String q : seen) {
        if (!p.equals(q) && p.startsWith(q + " ")) {
          problems.add("cloister " + p + " is listed, and so is its group cloister " + q);
        }
      }
    }
    for (String path : tree.keySet()) {
      if (path.isEmpty() || path.equals("help") || !tree.get(path).subcommands().isEmpty()) {
        continue; // groups are covered by their commands
      }
      boolean covered = false;
      for (String q = path; !q.isEmpty(); q = q.contains(" ") ? q.substring(0, q.lastIndexOf(' ')) : "") {
        covered |= seen.contains(q);
      }
      if (!covered) {
        problems.add("not in README's command table: cloister " + path);
      }
    }
    assertThat(problems).isEmpty();
  }
}
