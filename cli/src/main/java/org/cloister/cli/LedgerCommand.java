package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.coordinator.ledger.LedgerVerifier;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister ledger verify}: checks the privacy ledger's signatures and hash chain. */
@Command(name = "ledger", mixinStandardHelpOptions = true, description = "The privacy ledger.",
    subcommands = LedgerCommand.Verify.class)
final class LedgerCommand implements Runnable {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (verify)");
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"Verifies the privacy ledger: signatures, hash chain, recorded rounds and signed head checkpoints.",
          "Checks every ledger entry's signature against the consortium CA, the hash chain linking them, and "
          + "the chain against the rounds the coordinator recorded and the ledger-head checkpoints it signed at "
          + "every round (so entries removed from the end are caught). Exit 0 when the ledger is intact, 1 when "
          + "any entry was edited, inserted, removed or forged."})
  static final class Verify implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--database", required = true, paramLabel = "JDBC_URL_OR_FILE",
        description = "The coordinator's database (a coordinator.db file or a JDBC URL).")
    String database;

    @Option(names = "--trust-root", required = true, paramLabel = "ca.crt", description = "The consortium CA certificate.")
    Path trustRoot;

    @Option(names = "--study", paramLabel = "ID", description = "One study (default: every study in the database).")
    String study;

    @Option(names = "--site-ledger", paramLabel = "site-ledger.db",
        description = "A site's own ledger (state_dir/site-ledger.db, repeatable): every spend it signed must be in the"
            + " coordinator's ledger with the same bytes. An anchor outside the coordinator's control: it catches a"
            + " ledger rewritten by whoever holds the coordinator's key.")
    List<Path> siteLedgers = List.of();

    @Option(names = "--json", description = "Machine-readable output.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      String url = CoordinatorDatabase.url(spec.commandLine(), database);
      LedgerVerifier verifier;
      try {
        verifier = new LedgerVerifier(Pem.readCertificate(trustRoot));
      } catch (java.io.IOException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), "--trust-root: " + e.getMessage());
      }
      boolean allValid = true;
      Map<String, Object> result = new LinkedHashMap<>();
      try (JdbcStudyStore store = new JdbcStudyStore(url)) {
        List<String> studies = study != null ? List.of(study) : store.studies();
        if (study != null && !store.studies().contains(study)) {
          throw new CommandLine.ParameterException(spec.commandLine(), "--study: no study '" + study + "' in " + database);
        }
        for (String s : studies) {
          LedgerVerifier.Report r = verifier.verify(store, s);
          List<String> siteProblems = againstSiteLedgers(store.ledger(s), s);
          if (!siteProblems.isEmpty()) {
            List<String> all = new java.util.ArrayList<>(r.problems());
            all.addAll(siteProblems);
            r = new LedgerVerifier.Report(r.entries(), r.headHash(), all);
          }
          allValid &= r.valid();
          if (json) {
            result.put(s, Map.of("valid", r.valid(), "entries", r.entries(), "head_hash", r.headHash(), "problems", r.problems()));
          } else {
            out.printf("study %s: %d entries, head %s: %s%n", s, r.entries(), r.headHash(), r.valid() ? "valid" : "INVALID");
            collapsed(r.problems()).forEach(p -> out.println("  " + p));
          }
        }
      }
      if (json) {
        out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(result));
      }
      out.flush();
      return allValid ? 0 : 1;
    }

    /** Every spend a site's own ledger holds for {@code study} must be in the coordinator's, byte for byte. */
    private List<String> againstSiteLedgers(List<org.cloister.coordinator.store.StudyStore.LedgerEntry> entries, String study) {
      Map<String, byte[]> held = new java.util.HashMap<>();
      for (var e : entries) {
        held.put(e.partyId() + "/" + e.roundId(), e.spend());
      }
      List<String> problems = new java.util.ArrayList<>();
      for (Path p : siteLedgers) {
        if (!java.nio.file.Files.exists(p)) {
          throw new CommandLine.ParameterException(spec.commandLine(), "--site-ledger: no such file " + p);
        }
        try (org.cloister.site.ledger.SiteLedger site = new org.cloister.site.ledger.SiteLedger("jdbc:sqlite:" + p)) {
          for (var e : site.signedSpends(study).entrySet()) {
            org.cloister.protocol.v1.PrivacySpend spend;
            try {
              spend = org.cloister.protocol.v1.PrivacySpend.parseFrom(e.getValue().getSpend());
            } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
              problems.add(p + ": the spend for round id " + e.getKey() + " is unreadable");
              continue;
            }
            byte[] there = held.get(spend.getPartyId() + "/" + e.getKey());
            if (there == null) {
              problems.add(p + ": " + spend.getPartyId() + " signed a spend for round " + spend.getRound() + " (" + e.getKey()
                  + ") that the coordinator's ledger lacks (removed, or not yet reconciled)");
            } else if (!java.util.Arrays.equals(there, e.getValue().getSpend().toByteArray())) {
              problems.add(p + ": the coordinator's entry for " + spend.getPartyId() + ", round " + spend.getRound()
                  + " differs from the spend the site signed");
            }
          }
        }
      }
      return problems;
    }
  }

  /** At most this many problems with the same reason are printed; the rest are counted (all are in --json). */
  static final int SAME_PROBLEM_SHOWN = 3;

  /**
   * The problems as printed: the same reason on many entries (e.g. every signature under a wrong CA) is shown
   * for the first {@value #SAME_PROBLEM_SHOWN} entries, then one line counting the rest.
   */
  static List<String> collapsed(List<String> problems) {
    Map<String, Integer> seen = new LinkedHashMap<>();
    Map<String, Integer> hidden = new LinkedHashMap<>();
    Map<String, String> example = new LinkedHashMap<>();
    List<String> out = new java.util.ArrayList<>();
    for (String p : problems) {
      java.util.regex.Matcher m = java.util.regex.Pattern
          .compile("^(entry \\d+ \\([^)]*\\)|checkpoint after round record \\d+|round record \\d+"
              + "|study \\S+ round \\d+ \\(model version \\d+\\))(?:: | )(.*)$").matcher(p);
      // the same reason up to times and numbers (signing times, serials differ from entry to entry)
      String reason = m.matches() ? (m.group(1).startsWith("entry") ? "entry: " : m.group(1).startsWith("checkpoint")
          ? "checkpoint: " : m.group(1).startsWith("study") ? "receipt: " : "record: ")
          + m.group(2).replaceAll("\\d{4}-\\d\\d-\\d\\dT\\S+", "<time>").replaceAll("\\d+", "#") : null;
      if (reason == null || seen.merge(reason, 1, Integer::sum) <= SAME_PROBLEM_SHOWN) {
        out.add(p);
      } else {
        hidden.merge(reason, 1, Integer::sum);
        example.putIfAbsent(reason, m.group(2));
      }
    }
    hidden.forEach((reason, n) -> out.add("... and " + n + " more " + (reason.startsWith("entry: ") ? "entries"
        : reason.startsWith("checkpoint: ") ? "checkpoints" : reason.startsWith("receipt: ") ? "receipts" : "round records")
        + " with the same problem: " + example.get(reason) + " (all listed with --json)"));
    return out;
  }
}
