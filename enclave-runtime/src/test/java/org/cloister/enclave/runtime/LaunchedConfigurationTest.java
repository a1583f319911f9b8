package org.cloister.enclave.runtime;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import org.cloister.protocol.EvidenceWire;
import org.cloister.trust.attestation.LaunchConfiguration;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.junit.jupiter.api.Test;

/**
 * An enclave on SEV-SNP refuses to start with configuration or policy files other than those its VM was launched
 * with (host_data); reports from {@link SimulatedSnpPlatform}, the test double of the hardware.
 */
class LaunchedConfigurationTest {
  static final byte[] CONFIG = "{\"format\":\"config\"}".getBytes(StandardCharsets.UTF_8);
  static final byte[] POLICY = "{\"format\":\"policy\",\"cohort_floor\":3}".getBytes(StandardCharsets.UTF_8);

  static EvidenceSource launchedWith(SimulatedSnpPlatform snp, byte[] hostData) {
    return (nonce, userData, publicKey) -> {
      try {
        byte[] report = snp.report(ReportDataBinding.reportData(nonce, publicKey, userData), new byte[48],
            SimulatedSnpPlatform.POLICY, hostData);
        return EvidenceWire.confidentialVm("sev-snp", report, List.of(), publicKey, userData);
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    };
  }

  @Test
  void startsOnlyWithTheFilesTheVmWasLaunchedWith() throws Exception {
    SimulatedSnpPlatform snp = new SimulatedSnpPlatform(5);
    byte[] launched = LaunchConfiguration.digest(TeePlatform.SEV_SNP, CONFIG, POLICY);
    EvidenceSource source = launchedWith(snp, launched);
    byte[] key = new byte[32];
    assertThatCode(() -> LaunchedConfiguration.require(source, CONFIG, POLICY, key, new SecureRandom()))
        .doesNotThrowAnyException();
    // the host hands the enclave a looser policy than the one the VM was launched with
    byte[] looser = new String(POLICY, StandardCharsets.UTF_8).replace("3", "1").getBytes(StandardCharsets.UTF_8);
    assertThatThrownBy(() -> LaunchedConfiguration.require(source, CONFIG, looser, key, new SecureRandom()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("launched with host_data " + java.util.HexFormat.of().formatHex(launched))
        .hasMessageContaining("refusing to start");
    // a VM launched without host_data
    assertThatThrownBy(() -> LaunchedConfiguration.require(launchedWith(snp, new byte[32]), CONFIG, POLICY, key,
        new SecureRandom())).hasMessageContaining("host_data " + "00".repeat(32));
  }

  /**
   * The enclave names its own platform without a verifier registry (none is in its image): evidence of a platform
   * that defines no launch value (a plug-in's) is refused by name, the enclave does not start.
   */
  @Test
  void aPlatformWithoutALaunchValueIsRefusedByName() {
    EvidenceSource other = (nonce, userData, publicKey) -> org.cloister.protocol.v1.Evidence.newBuilder()
        .setPlatform("my-tee").setEvidence(com.google.protobuf.ByteString.copyFrom(new byte[64])).build();
    assertThatThrownBy(() -> LaunchedConfiguration.require(other, CONFIG, POLICY, new byte[32], new SecureRandom()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no launch-configuration measurement is defined for platform my-tee");
  }

  @Test
  void theDigestSeparatesConfigurationFromPolicy() {
    // moving bytes from the configuration to the policy changes the value (length prefixes)
    byte[] a = LaunchConfiguration.digest(TeePlatform.TDX, "ab".getBytes(), "c".getBytes());
    byte[] b = LaunchConfiguration.digest(TeePlatform.TDX, "a".getBytes(), "bc".getBytes());
    org.assertj.core.api.Assertions.assertThat(a).hasSize(48).isNotEqualTo(b);
    org.assertj.core.api.Assertions.assertThat(LaunchConfiguration.digest(TeePlatform.SEV_SNP, CONFIG, POLICY))
        .hasSize(32);
    assertThatThrownBy(() -> LaunchConfiguration.digest(TeePlatform.NITRO, CONFIG, POLICY))
        .hasMessageContaining("PCR1 and PCR2");
    org.assertj.core.api.Assertions.assertThat(Arrays.equals(a, b)).isFalse();
  }
}
