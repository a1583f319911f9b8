package org.cloister.cli;

import java.nio.file.Path;
import org.cloister.cli.processes.ProcessSimulation;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.cloister.data.Partitioners;
import org.cloister.models.ModelZoo;
import org.cloister.simulations.FederatedSimulation;
import org.cloister.simulations.ResultsWriter;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.cloister.simulations.Sweep;
import org.cloister.simulations.engine.SimulationEngine;
import org.cloister.simulations.report.HtmlReport;
import picocli.CommandLine;

/** Validates a simulation config (usage errors name the flag), runs it and prints it. Shared by demo and simulate. */
final class SimulationRun {
  private SimulationRun() {
  }

  static SimulationConfig build(CommandLine cl, SimulationConfig.Builder b) {
    try {
      SimulationConfig cfg = b.build();
      ModelZoo.byName(cfg.model());
      checkPartition(cfg.partition());
      return cfg;
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
  }

  private static void checkPartition(String partition) {
    if (!partition.equals(org.cloister.simulations.SimulationData.BY_SITE)) {
      Partitioners.parse(partition);
    }
  }

  static int run(CommandLine cl, SimulationConfig cfg, boolean json) throws Exception {
    return run(cl, cfg, json, false, null);
  }

  /**
   * One study; {@code report} (may be null) is where the HTML report goes.
   *
   * @param processes each site a {@code site start} process against a {@code coordinator start} process
   */
  static int run(CommandLine cl, SimulationConfig cfg, boolean json, boolean processes, Path report) throws Exception {
    return run(cl, cfg, json, processes, report, 0);
  }

  /** One study, then (when {@code auditCanaries} > 0) a gradient-canary audit of each site's DP-SGD. */
  static int run(CommandLine cl, SimulationConfig cfg, boolean json, boolean processes, Path report,
                 int auditCanaries) throws Exception {
    return run(cl, cfg, json, processes, report, auditCanaries, SimulationEngine.named("grpc", 0, null));
  }

  /** One study on {@code engine} (ignored with {@code processes}). */
  static int run(CommandLine cl, SimulationConfig cfg, boolean json, boolean processes, Path report,
                 int auditCanaries, SimulationEngine engine) throws Exception {
    if (auditCanaries > 0 && !cfg.dp().enabled()) {
      throw new CommandLine.ParameterException(cl, "--audit-canaries audits DP-SGD; this study runs without DP "
          + "(--no-dp): there is no bound to test (epsilon is infinite)");
    }
    if (processes) {
      try {
        ProcessSimulation.requireSupported(cfg);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(cl, e.getMessage());
      }
    }
    StudyPrinter p = new StudyPrinter(cl.getOut(), json, !json && StudyPrinter.stdoutIsTerminal());
    if (!processes && !engine.name().equals("grpc")) {
      p.engine(describe(engine));
    }
    p.header(cfg);
    java.util.List<String> dataNotes = cfg.csv().equals(org.cloister.data.CsvOptions.DEFAULT) ? java.util.List.of()
        : org.cloister.simulations.SimulationData.loadNotes(cfg);
    if (!json) {
      dataNotes.forEach(n -> cl.getOut().println("Data: " + n));
      cl.getOut().flush();
    }
    SimulationResult result;
    try {
      result = processes ? new ProcessSimulation(cfg, r -> p.round(r, cfg)).run()
          : engine.run(cfg, r -> p.round(r, cfg));
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    Path written = new ResultsWriter().write(result, cfg.outDir());
    if (!dataNotes.isEmpty()) {
      com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper()
          .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
      com.fasterxml.jackson.databind.node.ObjectNode tree =
          (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(written.toFile());
      tree.set("data_notes", mapper.valueToTree(dataNotes));
      java.nio.file.Files.writeString(written, mapper.writeValueAsString(tree) + "\n", java.nio.charset.StandardCharsets.UTF_8);
    }
    java.util.List<java.util.Map<String, Object>> audits = null;
    if (auditCanaries > 0) {
      audits = org.cloister.simulations.audit.StudyAudit.perSite(cfg, result.noiseMultiplier(), auditCanaries);
      com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper()
          .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT);
      com.fasterxml.jackson.databind.node.ObjectNode tree =
          (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(written.toFile());
      tree.set("audit", mapper.valueToTree(audits));
      java.nio.file.Files.writeString(written, mapper.writeValueAsString(tree) + "\n",
          java.nio.charset.StandardCharsets.UTF_8);
    }
    p.summary(result, written);
    if (audits != null && !json) {
      for (java.util.Map<String, Object> a : audits) {
        cl.getOut().printf(java.util.Locale.ROOT, "Audit site %s (%s gradient canaries): epsilon >= %.3f (confidence %s), "
                + "accountant epsilon <= %.3f: %s%n", a.get("site"), a.get("canaries"), a.get("epsilon_lower_bound"),
            a.get("confidence"), a.get("epsilon_upper_bound"), a.get("verdict"));
      }
      cl.getOut().flush();
    }
    if (report != null) {
      String page = new HtmlReport().study(result, asWritten(cl));
      if (audits != null) {
        page = page.replace("<footer>", org.cloister.simulations.audit.StudyAuditHtml.section(audits) + "<footer>");
      }
      java.nio.file.Path parent = report.toAbsolutePath().getParent();
      if (parent != null) {
        java.nio.file.Files.createDirectories(parent);
      }
      java.nio.file.Files.writeString(report, page, java.nio.charset.StandardCharsets.UTF_8);
      if (!json) {
        cl.getOut().println("Report: " + report);
        cl.getOut().flush();
      }
    }
    return result.status().startsWith("finished") ? 0 : 1;
  }

  /**
   * The configuration as the user wrote it: the command line, then the text of each scenario file it
   * names (a file argument ending in .yaml or .yml), for the report.
   */
  static String asWritten(CommandLine cl) {
    java.util.List<String> args = cl.getParseResult() == null ? java.util.List.of() : cl.getParseResult().originalArgs();
    StringBuilder b = new StringBuilder("cloister");
    for (String a : args) {
      b.append(' ').append(a.isEmpty() || a.matches(".*[\\s'\"$`\\\\|&;<>()*?].*") ? "'" + a.replace("'", "'\\''") + "'" : a);
    }
    b.append('\n');
    for (String a : args) {
      java.nio.file.Path f = java.nio.file.Path.of(a.replaceFirst("^[^=]*=", ""));
      if ((a.endsWith(".yaml") || a.endsWith(".yml")) && java.nio.file.Files.isRegularFile(f)) {
        try {
          b.append("--- ").append(a).append('\n').append(java.nio.file.Files.readString(f));
        } catch (java.io.IOException e) {
          b.append("--- ").append(a).append(": unreadable (").append(e.getMessage()).append(")\n");
        }
      }
    }
    return b.toString();
  }

  /** A grid of studies: each writes its own results; the sweep writes sweep.csv/json, prints the table and the report. */
  static int runSweep(CommandLine cl, SimulationConfig.Builder base, Sweep sweep, boolean json, Path report) throws Exception {
    return runSweep(cl, base, sweep, json, report, SimulationEngine.named("grpc", 0, null));
  }

  /** What the header says about an engine other than grpc. */
  static String describe(SimulationEngine engine) {
    return engine.name() + " engine: virtual sites without network; the enclave's aggregation arithmetic in this JVM on"
        + " plaintext updates (a simulation of secure aggregation, not secure aggregation)";
  }

  static int runSweep(CommandLine cl, SimulationConfig.Builder base, Sweep sweep, boolean json, Path report,
                      SimulationEngine engine) throws Exception {
    SimulationConfig template = build(cl, base);
    List<Map.Entry<Map<String, String>, SimulationConfig>> grid;
    try {
      grid = sweep.configs(base);
      for (Map.Entry<Map<String, String>, SimulationConfig> e : grid) {
        ModelZoo.byName(e.getValue().model());
        checkPartition(e.getValue().partition());
      }
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, e.getMessage());
    }
    java.io.PrintWriter out = cl.getOut();
    boolean terminal = !json && StudyPrinter.stdoutIsTerminal();
    int[] index = {0};
    List<Sweep.Point> points = sweep.run(base, cfg -> {
      index[0]++;
      if (!json) {
        out.printf(Locale.ROOT, "== sweep %d/%d: %s%n", index[0], grid.size(), grid.get(index[0] - 1).getKey());
        out.flush();
      }
      StudyPrinter p = new StudyPrinter(out, json, terminal);
      SimulationResult r = engine.run(cfg, rr -> p.round(rr, cfg));
      new ResultsWriter().write(r, cfg.outDir());
      if (!json) {
        out.printf(Locale.ROOT, "   final accuracy %.4f  auc %.4f  (%s)%n", r.finalMetrics().accuracy(), r.finalMetrics().auc(), r.status());
        out.flush();
      }
      return r;
    });
    Path csv = sweep.write(points, template.outDir());
    if (json) {
      out.println(java.nio.file.Files.readString(template.outDir().resolve("sweep.json")));
    } else {
      printTable(out, sweep.table(points));
      out.println("Sweep: " + csv + " and " + csv.resolveSibling("sweep.json"));
    }
    if (report != null) {
      new HtmlReport().writeSweep(sweep, points, report);
      if (!json) {
        out.println("Report: " + report);
      }
    }
    out.flush();
    return points.stream().allMatch(pt -> pt.result().status().startsWith("finished")) ? 0 : 1;
  }

  private static void printTable(java.io.PrintWriter out, List<Map<String, Object>> rows) {
    if (rows.isEmpty()) {
      return;
    }
    List<String> cols = rows.get(0).keySet().stream().filter(k -> !k.equals("out") && !k.equals("status")).toList();
    StringBuilder h = new StringBuilder();
    cols.forEach(c -> h.append(String.format(Locale.ROOT, "%-" + Math.max(12, c.length() + 2) + "s", c)));
    out.println(h.toString().stripTrailing());
    for (Map<String, Object> row : rows) {
      StringBuilder line = new StringBuilder();
      for (String c : cols) {
        Object v = row.get(c);
        line.append(String.format(Locale.ROOT, "%-" + Math.max(12, c.length() + 2) + "s", v == null ? "-" : v instanceof Double d ? String.format(Locale.ROOT, "%.4g", d) : v));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
