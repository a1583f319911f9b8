package org.cloister.cli.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import org.cloister.cli.config.ConfigDir;
import org.cloister.cli.config.CoordinatorFile;
import org.cloister.consortium.SecureAggregationHost;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.simulations.SecureAggregationStack;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The consortium host (the coordinator's side) checks an enclave on a confidential VM before serving it, on the
 * neutral evidence model: a real enclave process on the TDX TEST DOUBLE (quotes through the simulated
 * configfs-tsm tree) with its key broker; {@link SecureAggregationHost#verify} with the consortium's pins verifies
 * its quote binding the host's nonce and the enclave's keys; the Nitro-only form refuses TDX evidence by name;
 * the coordinator service configured for {@code platform: tdx} verifies under Intel's pinned root (so refuses
 * the double's quotes) and names a missing enclave address or pins of another platform.
 */
class ConfidentialVmHostTest {
  private static final String STUDY = "cvm-host";
  @TempDir
  static Path work;
  static SecureAggregationStack stack;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty(SecureAggregationStack.PLATFORM_PROPERTY, SecureAggregationStack.SIMULATED_TDX);
    try {
      AggregationPolicy policy = new AggregationPolicy(AggregationPolicy.FORMAT, STUDY, "toy", 8, 5.0, 2, 2, null,
          AggregationPolicy.FEDAVG);
      stack = SecureAggregationStack.launch(SecureAggregationStack.prepare(work.resolve("consortium"), policy,
          List.of("a", "b"), null, null), null, false);
    } finally {
      System.clearProperty(SecureAggregationStack.PLATFORM_PROPERTY);
    }
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void theHostVerifiesTheEnclavesQuoteWithTheConsortiumsPinsAndTheNitroFormRefusesIt() throws Exception {
    BoundEvidenceVerifier.BoundEnclave b = SecureAggregationHost.verify(stack.enclave().channel(),
        SecureAggregationStack.cvmVerifier(stack.setup()), STUDY, Clock.systemUTC(), new SecureRandom());
    assertThat(b.evidence().platform()).isEqualTo(TeePlatform.TDX);
    assertThat(b.evidence().tcb().orElseThrow().status()).isEqualTo("UpToDate");
    assertThat(b.hpkePublicKey()).hasSize(32);
    assertThat(b.signingKey()).isNotNull();

    NitroAttestationVerifier nitro = new NitroAttestationVerifier(Pem.readCertificate(stack.setup().devRootCert()));
    assertThatThrownBy(() -> SecureAggregationHost.verify(stack.enclave().channel(), nitro,
        stack.setup().expectedPcrs(), STUDY, Clock.systemUTC(), new SecureRandom()))
        .isInstanceOfSatisfying(AttestationException.class, e -> {
          assertThat(e.reason()).isEqualTo(FailureReason.MALFORMED);
          assertThat(e.getMessage()).contains("tdx");
        });
  }

  @Test
  void theCoordinatorServiceOnTdxVerifiesUnderIntelsRootAndNamesWhatIsMissing() throws Exception {
    Path consortium = stack.workDirectory();
    String common = "aggregation_policy: " + stack.setup().policy() + "\n"
        + "expected_measurements: " + consortium.resolve(SecureAggregationStack.EXPECTED_MEASUREMENTS) + "\n"
        + "collateral_dir: " + consortium.resolve(SecureAggregationStack.COLLATERAL) + "\n"
        + "sealed_models: " + work.resolve("sealed") + "\n";
    AggregationPolicy policy = AggregationPolicy.parse(Files.readAllBytes(stack.setup().policy()));
    PrintWriter err = new PrintWriter(new StringWriter());

    ConfigDir.Bound<CoordinatorFile.Aggregation> tdx = section(common + "platform: tdx\nenclave: 127.0.0.1:"
        + stack.enclave().port() + "\n");
    assertThatThrownBy(() -> ServiceAggregation.onHardware(tdx.dir(), tdx.value(), policy, "tdx", err))
        .hasMessageContaining("refusing to start").hasMessageContaining("UNTRUSTED_ROOT")
        .hasMessageContaining("not the pinned Intel SGX Root CA");

    ConfigDir.Bound<CoordinatorFile.Aggregation> noAddress = section(common + "platform: tdx\n");
    assertThatThrownBy(() -> ServiceAggregation.onHardware(noAddress.dir(), noAddress.value(), policy, "tdx", err))
        .hasMessageContaining("'aggregation.enclave' must give its address");

    ConfigDir.Bound<CoordinatorFile.Aggregation> otherPlatform = section(common + "platform: sev-snp\n"
        + "enclave: 127.0.0.1:" + stack.enclave().port() + "\n");
    assertThatThrownBy(() -> ServiceAggregation.onHardware(otherPlatform.dir(), otherPlatform.value(), policy,
        "sev-snp", err))
        .hasMessageContaining("pins tdx measurements");
  }

  private static ConfigDir.Bound<CoordinatorFile.Aggregation> section(String yaml) throws Exception {
    Path f = Files.writeString(Files.createTempFile(work, "aggregation", ".yaml"), yaml);
    return ConfigDir.bind(f, CoordinatorFile.Aggregation.class);
  }
}
