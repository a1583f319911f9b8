package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.cli.service.CoordinatorService;
import org.cloister.coordinator.budget.BudgetReport;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister budget report}: per-site privacy spend against ceilings, from the signed ledger. */
@Command(name = "budget", mixinStandardHelpOptions = true, description = "Privacy budgets.",
    subcommands = BudgetCommand.Report.class)
final class BudgetCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (report)");
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = {"Shows, per site, the epsilon it has spent (recomputed with the RDP accountant from the signed",
          "ledger; the site's own figure beside it), its ceiling and what remains, the history, and the rounds it was",
          "left out of and why. Run `cloister ledger verify` first: the report assumes an intact ledger."})
  static final class Report implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--study", required = true, paramLabel = "ID")
    String study;

    @Option(names = "--database", required = true, paramLabel = "JDBC_URL_OR_FILE", description = "The coordinator's database.")
    String database;

    @Option(names = "--config", paramLabel = "coordinator.yaml", description = "Read the sites' ceilings from the coordinator's configuration.")
    Path config;

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Option(names = "--html", paramLabel = "FILE", description = "Also write a self-contained HTML report.")
    Path html;

    /** What the figures cover (docs/privacy-accounting.md, "What the guarantee covers"). */
    static final String GUARANTEE = "Covers: each site's signed releases (updates, and private preprocessing composed into "
        + "its first spend) under add-or-remove-one record. Public, not protected: the study's definition (features, "
        + "classes, preprocessing bounds, schedule) and, unless the study is count-private, each site's record count.";

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      if (!database.startsWith("jdbc:") && !Files.exists(Path.of(database))) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--database: no such file " + database);
      }
      PrivacyBudgets budgets;
      try {
        budgets = config == null ? null : CoordinatorService.budgets(config);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--config: " + e.getMessage());
      }
      List<BudgetReport.SiteBudget> sites;
      try (JdbcStudyStore store = new JdbcStudyStore(database.startsWith("jdbc:") ? database : "jdbc:sqlite:" + database)) {
        if (!store.studies().contains(study)) {
          throw new CommandLine.ParameterException(spec.commandLine(), "--study: no study '" + study + "' in " + database);
        }
        sites = BudgetReport.compute(store, study, store.rounds(study), budgets, RdpAccountant::new);
      }
      if (json) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("study", study);
        root.put("accountant", "rdp");
        root.put("guarantee", GUARANTEE);
        root.put("sites", BudgetReport.toMaps(sites));
        out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root));
      } else {
        out.printf("Privacy budget of study %s (epsilon recomputed with the RDP accountant from the signed ledger)%n", study);
        out.printf("%-12s %8s %10s %10s %10s %7s%n", "site", "rounds", "epsilon", "ceiling", "remaining", "delta");
        for (BudgetReport.SiteBudget s : sites) {
          out.printf(Locale.ROOT, "%-12s %8d %10s %10s %10s %7.0e%n", s.siteId(), s.history().size(), fmt(s.epsilon()),
              s.ceiling() == null ? "-" : fmt(s.ceiling()), s.remaining() == null ? "-" : fmt(s.remaining()), s.delta());
          s.leftOut().forEach((round, why) -> out.printf("    round %d: left out: %s%n", round, why));
        }
        out.println(GUARANTEE);
      }
      if (html != null) {
        Files.writeString(html, BudgetHtml.render(study, sites), StandardCharsets.UTF_8);
        if (!json) {
          out.println("HTML report: " + html);
        }
      }
      out.flush();
      return 0;
    }

    private static String fmt(double v) {
      return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "inf";
    }
  }
}
