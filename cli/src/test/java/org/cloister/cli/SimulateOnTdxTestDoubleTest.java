package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.simulations.SecureAggregationStack;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo's flow with the enclave on the TDX TEST DOUBLE (no TDX hardware here): the enclave process obtains its
 * quotes through the production configfs-tsm path from a simulated configfs-tsm tree ({@code SimulatedTsmKernel})
 * whose "hardware" is {@code SimulatedTdxPlatform}; the key broker (its own process) releases the model key only
 * to the quote with the pinned MRTD and MRCONFIGID (the enclave's configuration and policy) under the double's
 * root and collateral folder; every site verifies the enclave's quote binding its nonce and the enclave's keys
 * before sealing its update; rounds complete; the TDX-attested receipts verify with
 * {@code receipts verify --expected-measurements --collateral}, and the Nitro view refuses them by name.
 */
class SimulateOnTdxTestDoubleTest {

  @Test
  void aStudyRunsAndItsReceiptsVerifyOnTheTdxTestDouble(@TempDir Path out) throws Exception {
    CloisterCommandTest.Run r;
    System.setProperty(SecureAggregationStack.PLATFORM_PROPERTY, SecureAggregationStack.SIMULATED_TDX);
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
    assertThat(pins).contains("\"platform\" : \"tdx\"", "\"mr_td\"", "\"mr_config_id\"");
    // the broker released the model key to the TDX-attested enclave, and says so
    assertThat(Files.readString(out.resolve("key-broker-audit.jsonl")))
        .contains("\"outcome\":\"released\"", "\"platform\":\"tdx\"").doesNotContain("\"refusal\"");

    CloisterCommandTest.Run v = CloisterCommandTest.run("receipts", "verify", "--database",
        out.resolve("coordinator.db").toString(), "--expected-measurements",
        consortium.resolve(SecureAggregationStack.EXPECTED_MEASUREMENTS).toString(), "--collateral",
        consortium.resolve(SecureAggregationStack.COLLATERAL).toString(), "--development-intel-root",
        consortium.resolve("development-intel-root.pem").toString(), "--json");
    assertThat(v.code()).as(v.out() + v.err()).isZero();
    assertThat(v.out()).contains("\"receipts\":2,\"valid\":true");
    // Intel's pinned root (no --development-intel-root) refuses the double's quotes
    CloisterCommandTest.Run intel = CloisterCommandTest.run("receipts", "verify", "--database",
        out.resolve("coordinator.db").toString(), "--expected-measurements",
        consortium.resolve(SecureAggregationStack.EXPECTED_MEASUREMENTS).toString(), "--collateral",
        consortium.resolve(SecureAggregationStack.COLLATERAL).toString(), "--json");
    assertThat(intel.code()).as(intel.out() + intel.err()).isEqualTo(1);
    assertThat(intel.out()).contains("not the pinned Intel SGX Root CA");
    // the Nitro view of the same database refuses the TDX receipts by name
    CloisterCommandTest.Run nitro = CloisterCommandTest.run("receipts", "verify", "--database",
        out.resolve("coordinator.db").toString(), "--trust-root",
        consortium.resolve("dev-attestation-root.pem").toString(), "--json");
    assertThat(nitro.code()).isEqualTo(1);
    assertThat(nitro.out()).contains("carries tdx evidence but this verifier pins Nitro PCRs");
  }
}
