package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import org.cloister.cli.service.CoordinatorService;
import org.cloister.consortium.ReceiptVerifier;
import org.cloister.coordinator.budget.BudgetReport;
import org.cloister.coordinator.budget.PrivacyBudgets;
import org.cloister.coordinator.ledger.LedgerVerifier;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.dp.accounting.PrivacyAccountant;
import org.cloister.dp.accounting.pld.PldAccountant;
import org.cloister.dp.accounting.rdp.RdpAccountant;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister budget report}: verifies the ledger, then shows per-site privacy spend against ceilings. */
@Command(name = "budget", mixinStandardHelpOptions = true, description = "Privacy budgets.",
    subcommands = BudgetCommand.Report.class)
final class BudgetCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (report)");
  }

  /** The accountants the report can recompute with. */
  enum Accountant {
    rdp(RdpAccountant::new, "RDP"), pld(PldAccountant::new, "PLD");

    final Supplier<PrivacyAccountant> factory;
    final String label;

    Accountant(Supplier<PrivacyAccountant> factory, String label) {
      this.factory = factory;
      this.label = label;
    }
  }

  @Command(name = "report", mixinStandardHelpOptions = true,
      description = {"Verifies the study's ledger, then reports each site's epsilon against its ceiling (text, JSON or HTML).",
          "Verifies the study's privacy ledger first (as `cloister ledger verify` does: signatures, hash chain, "
          + "rounds and signed checkpoints), then shows per site the epsilon it has spent, recomputed from every "
          + "signed spend the coordinator received (whatever happened to the update), beside the site's own "
          + "signed figure, with any difference flagged; its ceiling and what remains; its lifetime spend on its "
          + "dataset over every study in the database; the history; and the rounds it was left out of and why. "
          + "Exit 1, and INVALID on every output, when the ledger fails verification."})
  static final class Report implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--study", required = true, paramLabel = "ID", description = "The study to report on.")
    String study;

    @Option(names = "--database", required = true, paramLabel = "JDBC_URL_OR_FILE", description = "The coordinator's database.")
    String database;

    @Option(names = "--trust-root", required = true, paramLabel = "ca.crt",
        description = "The consortium CA certificate the ledger's signatures are verified against.")
    Path trustRoot;

    @Option(names = "--config", paramLabel = "coordinator.yaml", description = "Read the sites' ceilings from the coordinator's configuration.")
    Path config;

    @Option(names = "--accountant", paramLabel = "rdp|pld", defaultValue = "pld",
        description = "Accountant the epsilons are recomputed with: pld (default, the tighter bound the docs recommend"
            + " reporting) or rdp (what the sites' guards enforce).")
    Accountant accountant;

    @Option(names = "--attestation-root", paramLabel = "CERT",
        description = "Also verify the enclave's aggregation receipts (as `cloister receipts verify`) against this"
            + " attestation root and the expected PCRs beside it (or --expected-pcrs).")
    Path attestationRoot;

    @Option(names = "--expected-pcrs", paramLabel = "FILE", description = "The consortium's expected PCRs (with --attestation-root).")
    Path expectedPcrs;

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
      String url = CoordinatorDatabase.url(spec.commandLine(), database);
      PrivacyBudgets budgets;
      try {
        budgets = config == null ? null : CoordinatorService.budgets(config);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--config: " + e.getMessage());
      }
      LedgerVerifier verifier;
      try {
        verifier = new LedgerVerifier(Pem.readCertificate(trustRoot));
      } catch (java.io.IOException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--trust-root: " + e.getMessage());
      }
      List<BudgetReport.SiteBudget> sites;
      LedgerVerifier.Report ledger;
      String status;
      ReceiptsSection receipts;
      ReceiptVerifier.Result receiptCheck = null;
      try (JdbcStudyStore store = new JdbcStudyStore(url)) {
        if (!store.studies().contains(study)) {
          throw new CommandLine.ParameterException(spec.commandLine(), "--study: no study '" + study + "' in " + database);
        }
        // verify before reporting: figures from an altered ledger must never look like a clean report
        ledger = verifier.verify(store, study);
        sites = BudgetReport.compute(store, study, store.rounds(study), budgets, accountant.factory);
        status = store.studyStatus(study);
        receipts = ReceiptsSection.of(store, study);
        if (attestationRoot != null) {
          receiptCheck = receiptVerifier().verify(store, List.of(study));
        }
      }
      // the hook for further verifications (signed aggregation receipts): each is one Check
      List<BudgetReport.Check> checks = new ArrayList<>();
      checks.add(new BudgetReport.Check("privacy ledger", ledger.valid(),
          ledger.entries() + " entries, head " + ledger.headHash(), ledger.problems()));
      if (receiptCheck != null) {
        checks.add(new BudgetReport.Check("aggregation receipts", receiptCheck.valid(),
            receiptCheck.receipts() + " receipts signed by the attested enclave", receiptCheck.problems()));
      }
      boolean valid = checks.stream().allMatch(BudgetReport.Check::valid);
      BudgetHtml.Meta meta = new BudgetHtml.Meta(study, status, accountant.label, ledger.headHash(), Instant.now(), checks);
      if (json) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("study", study);
        root.put("status", status);
        root.put("valid", valid);
        root.put("verdict", valid ? "VALID" : "INVALID");
        List<Map<String, Object>> cs = new ArrayList<>();
        for (BudgetReport.Check c : checks) {
          Map<String, Object> m = new LinkedHashMap<>();
          m.put("name", c.name());
          m.put("valid", c.valid());
          m.put("summary", c.summary());
          m.put("problems", c.problems());
          cs.add(m);
        }
        root.put("verification", cs);
        root.put("accountant", accountant.name());
        root.put("guarantee", GUARANTEE);
        root.put("sites", BudgetReport.toMaps(sites));
        root.put("aggregation", receipts.toMap());
        out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(root));
      } else {
        for (BudgetReport.Check c : checks) {
          out.printf("%s: %s (%s)%n", c.name(), c.valid() ? "verified" : "INVALID", c.summary());
          LedgerCommand.collapsed(c.problems()).forEach(p -> out.println("  " + p)); // a reason on many: counted
        }
        if (!valid) {
          out.println("INVALID: the ledger failed verification; the figures below come from it and must not be relied on");
        }
        out.printf("Privacy budget of study %s (epsilon recomputed with the %s accountant from every signed spend the"
            + " coordinator holds; `own` is the site's own signed figure, from its RDP guard)%n", study, accountant.label);
        out.printf("%-12s %8s %10s %10s %10s %10s %7s %12s%n", "site", "spends", "epsilon", "own", "ceiling", "remaining", "delta",
            "lifetime");
        for (BudgetReport.SiteBudget s : sites) {
          out.printf(Locale.ROOT, "%-12s %8d %10s %10s %10s %10s %7.0e %12s%n", s.siteId(), s.history().size(), fmt(s.epsilon()),
              fmt(s.reportedEpsilon()), s.ceiling() == null ? "-" : fmt(s.ceiling()), s.remaining() == null ? "-" : fmt(s.remaining()),
              s.delta(), fmt(s.lifetimeEpsilon()) + (s.lifetimeStudies() > 1 ? " (" + s.lifetimeStudies() + " studies)" : ""));
          if (!s.byStatus().isEmpty()) {
            out.printf("    spends: %s%n", s.byStatus());
          }
          int evaluations = BudgetReport.evaluationReleases(s);
          if (evaluations > 0) {
            int last = BudgetReport.finalEvaluationReleases(s);
            out.printf("    federated evaluation: %d of these spends include a noised held-out release%s (counted in epsilon)%n",
                evaluations, last > 0 ? ", " + last + " of them the final model's evaluation after the last round" : "");
          }
          if (s.discrepancy() != null) {
            out.printf("    DIFFERENCE: %s%n", s.discrepancy());
          }
          s.leftOut().forEach((round, why) -> out.printf("    round %d: left out: %s%n", round, why));
        }
        receipts.printText(out);
        if (!valid) {
          out.println("INVALID: see the verification problems above");
        }
        out.println(GUARANTEE);
      }
      if (html != null) {
        Files.writeString(html, BudgetHtml.render(meta, sites).replace("</body>", receipts.html() + "</body>"),
            StandardCharsets.UTF_8);
        if (!json) {
          out.println("HTML report: " + html + (valid ? "" : " (marked INVALID)"));
        }
      }
      out.flush();
      return valid ? 0 : 1;
    }

    private ReceiptVerifier receiptVerifier() {
      return ReceiptVerifiers.nitro(spec.commandLine(), "--attestation-root", attestationRoot, expectedPcrs);
    }

    private static String fmt(double v) {
      return Double.isFinite(v) ? String.format(Locale.ROOT, "%.3f", v) : "inf";
    }
  }
}
