package org.cloister.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.cloister.consortium.ReceiptVerifier;
import org.cloister.coordinator.store.JdbcStudyStore;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code cloister receipts verify}: checks the enclave's signed aggregation receipts. */
@Command(name = "receipts", mixinStandardHelpOptions = true, description = "The enclave's signed aggregation receipts.",
    subcommands = ReceiptsCommand.Verify.class)
final class ReceiptsCommand implements Runnable {
  static final String PCRS_FILE = ReceiptVerifiers.PCRS_FILE;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (verify)");
  }

  @Command(name = "verify", mixinStandardHelpOptions = true,
      description = {"Verifies the enclave's signed aggregation receipt of every published model.",
          "Checks every aggregation receipt in a coordinator database: the enclave's signature, its attestation "
          + "(chain to the trust root, the consortium's expected PCRs), that contributors are consortium members "
          + "and at least the policy's cohort floor, that the stored model matches the signed digest, and that "
          + "every published model has a receipt. Prints {\"receipts\": N, \"valid\": true|false, \"problems\": "
          + "[...]}.",
          "Exit 0 when all hold, 1 when any does not."})
  static final class Verify implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--database", required = true, paramLabel = "JDBC_URL_OR_FILE",
        description = "The coordinator's database (a coordinator.db file or a JDBC URL).")
    String database;

    @Option(names = "--trust-root", paramLabel = "CERT",
        description = "Nitro: the attestation platform's root (a site kit's attestation-root.crt; the AWS Nitro root in production).")
    Path trustRoot;

    @Option(names = "--expected-measurements", paramLabel = "FILE",
        description = "SEV-SNP/TDX: the consortium's pinned measurements (cloister-measurements/v1, a kit's "
            + "expected-measurements.json); the AMD/Intel roots are pinned in Cloister. Excludes --trust-root.")
    Path expectedMeasurements;

    @Option(names = "--collateral", paramLabel = "DIR",
        description = "SEV-SNP/TDX: collateral folder (`cloister attest collateral`), for verifying offline.")
    Path collateral;

    @Option(names = "--development-amd-root", paramLabel = "ARK.pem", hidden = true,
        description = "DEVELOPMENT: trust the SEV-SNP test double's root instead of AMD's.")
    Path developmentAmdRoot;

    @Option(names = "--development-intel-root", paramLabel = "ROOT.pem", hidden = true,
        description = "DEVELOPMENT: trust the TDX test double's root instead of Intel's.")
    Path developmentIntelRoot;

    @Option(names = "--expected-pcrs", paramLabel = "FILE",
        description = "The consortium's expected PCRs (default: " + PCRS_FILE + " beside the trust root or in its parent folder).")
    Path expectedPcrs;

    @Option(names = "--study", paramLabel = "ID", description = "One study (default: every study in the database).")
    String study;

    @Option(names = "--json", description = "Print only the JSON result.")
    boolean json;

    @Override
    public Integer call() throws Exception {
      CommandLine cl = spec.commandLine();
      PrintWriter out = cl.getOut();
      String url = CoordinatorDatabase.url(cl, database);
      ReceiptVerifier verifier;
      if ((trustRoot == null) == (expectedMeasurements == null)) {
        throw new CommandLine.ParameterException(cl, "name the enclave's platform: --trust-root (Nitro) or "
            + "--expected-measurements (SEV-SNP/TDX), exactly one");
      }
      if (expectedMeasurements != null) {
        try {
          verifier = new ReceiptVerifier(org.cloister.cli.attest.ConfidentialVmPins.verifier(expectedMeasurements,
              collateral, developmentAmdRoot, developmentIntelRoot, cl.getErr()));
        } catch (IOException | IllegalArgumentException e) {
          throw new CommandLine.ParameterException(cl, e.getMessage());
        }
      } else {
        verifier = ReceiptVerifiers.nitro(cl, "--trust-root", trustRoot, expectedPcrs);
      }
      ReceiptVerifier.Result r;
      try (JdbcStudyStore store = new JdbcStudyStore(url)) {
        if (study != null && !store.studies().contains(study)) {
          throw new CommandLine.ParameterException(cl, "--study: no study '" + study + "' in " + database);
        }
        r = verifier.verify(store, study != null ? List.of(study) : store.studies());
      }
      if (!json) {
        for (ReceiptVerifier.Checked c : r.verified()) {
          out.printf("study %s round %d: model version %d from %s%s%n", c.studyId(), c.round(), c.modelVersion(),
              String.join(", ", c.contributors()), c.centralDpEvent().isEmpty() ? ""
                  : String.format(java.util.Locale.ROOT, ", central noise std %.4g", c.centralNoiseStddev()));
        }
      }
      Map<String, Object> result = new LinkedHashMap<>();
      result.put("receipts", r.receipts());
      result.put("valid", r.valid());
      result.put("problems", r.problems());
      out.println(new ObjectMapper().writeValueAsString(result));
      out.flush();
      return r.valid() ? 0 : 1;
    }
  }
}
