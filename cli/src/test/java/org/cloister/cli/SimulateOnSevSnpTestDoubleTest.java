package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.simulations.SecureAggregationStack;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's flow with the enclave on the SEV-SNP TEST DOUBLE (no SEV-SNP hardware here): the key broker and the
 * enclave run as their own processes, the broker releases the model key only to the report with the pinned launch
 * measurement and host_data (the enclave's configuration and policy), every site verifies the enclave's SNP report
 * binding its nonce and the enclave's keys before sealing its update, rounds complete, and the SNP-attested
 * receipts verify with {@code receipts verify --expected-measurements}. About 80 s (two processes, a study):
 * behind {@code -Pslow}.
 */
@Tag("slow")
class SimulateOnSevSnpTestDoubleTest {

  @Test
  void aStudyRunsAndItsReceiptsVerifyOnTheSevSnpTestDouble(@TempDir Path out) throws Exception {
    CloisterCommandTest.Run r;
    System.setProperty(SecureAggregationStack.PLATFORM_PROPERTY, SecureAggregationStack.SIMULATED_SNP);
    try {
      r = CloisterCommandTest.run("simulate", "--sites", "3", "--rounds", "2", "--min-sites", "2", "--out",
          out.toString());
    } finally {
      System.clearProperty(SecureAggregationStack.PLATFORM_PROPERTY);
    }
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("round  2/2");
    Path consortium = out.resolve(SecureAggregationStack.CONSORTIUM_DIRECTORY);
    String pins = Files.readString(consortium.resolve(SecureAggregationStack.EXPECTED_MEASUREMENTS));
    assertThat(pins).contains("\"platform\" : \"sev-snp\"", "\"host_data\"");
    // the broker released the model key to the SNP-attested enclave, and says so
    assertThat(Files.readString(out.resolve("key-broker-audit.jsonl")))
        .contains("\"outcome\":\"released\"", "\"platform\":\"sev-snp\"").doesNotContain("\"refusal\"");

    CloisterCommandTest.Run v = CloisterCommandTest.run("receipts", "verify", "--database",
        out.resolve("coordinator.db").toString(), "--expected-measurements",
        consortium.resolve(SecureAggregationStack.EXPECTED_MEASUREMENTS).toString(), "--development-amd-root",
        consortium.resolve("development-amd-root.pem").toString(), "--json");
    assertThat(v.code()).as(v.out() + v.err()).isZero();
    assertThat(v.out()).contains("\"receipts\":2,\"valid\":true");
    // the Nitro view of the same database refuses the SNP receipts by name
    CloisterCommandTest.Run nitro = CloisterCommandTest.run("receipts", "verify", "--database",
        out.resolve("coordinator.db").toString(), "--trust-root",
        consortium.resolve("dev-attestation-root.pem").toString(), "--json");
    assertThat(nitro.code()).isEqualTo(1);
    assertThat(nitro.out()).contains("carries sev-snp evidence but this verifier pins Nitro PCRs");
  }
}
