package org.cloister.enclave.runtime.tee;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.runtime.AttestationPlatforms;
import org.cloister.enclave.runtime.EvidenceSource;
import org.cloister.enclave.runtime.LaunchedConfiguration;
import org.cloister.protocol.EvidenceWire;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.LaunchConfiguration;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.tdx.SimulatedTdxPlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An enclave started with {@code --platform simulated-tdx} gets its evidence through the production
 * {@link ConfigfsTsm} path from the simulated configfs-tsm tree ({@link SimulatedTsmKernel}); a party pinning
 * MRTD, the RTMRs and MRCONFIGID under the double's root verifies it with the nonce and key it binds, and refuses it
 * when the enclave loaded other files than the pinned launch value names.
 */
class SimulatedTdxEvidenceTest {
  @TempDir
  Path dir;

  @Test
  void theSimulatedTdxPlatformServesQuotesThroughConfigfsTsmThatAPartyVerifies() throws Exception {
    Path key = Files.write(dir.resolve("root.key"), "development root key".getBytes());
    byte[] pcr0 = new byte[48];
    Arrays.fill(pcr0, (byte) 0x42);
    byte[] config = "{\"config\":1}".getBytes();
    byte[] policy = "{\"policy\":1}".getBytes();
    ByteArrayOutputStream banner = new ByteArrayOutputStream();
    EvidenceSource source = AttestationPlatforms.open(AttestationPlatforms.SIMULATED_TDX, null, key, "m",
        Map.of(0, pcr0), config, policy, new PrintStream(banner, true));
    assertThat(banner.toString()).contains("SIMULATED TDX platform");
    byte[] hpke = new byte[32];
    hpke[0] = 9;
    LaunchedConfiguration.require(source, config, policy, hpke, new SecureRandom()); // launched with these files

    byte[] nonce = new byte[32];
    nonce[1] = 7;
    EvidenceWire.Received r = EvidenceWire.received(source.evidence(nonce, new byte[] {5}, hpke), false, "enclave");
    assertThat(r.platform()).isEqualTo("tdx");
    SimulatedTdxPlatform tdx = SimulatedTdxPlatform.fromSecret(Files.readAllBytes(key));
    Map<String, byte[]> pins = new LinkedHashMap<>(Map.of("mr_td", pcr0,
        "mr_config_id", LaunchConfiguration.digest(TeePlatform.TDX, config, policy)));
    for (int i = 0; i < 4; i++) {
      pins.put("rtmr" + i, SimulatedTdxPlatform.rtmr(i));
    }
    Instant now = Instant.now();
    BoundEvidenceVerifier v = new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root())),
        new MeasurementPins(TeePlatform.TDX, pins, false),
        new org.cloister.trust.attestation.tdx.SimulatedIntelPcs(tdx).collateral(now.minusSeconds(3600)));
    assertThat(v.verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(), r.userData(), nonce, now)
        .userData()).containsExactly(5);

    // the same enclave on another policy file: its launch value no longer matches the pinned one
    pins.put("mr_config_id", LaunchConfiguration.digest(TeePlatform.TDX, config, "{\"policy\":2}".getBytes()));
    BoundEvidenceVerifier other = new BoundEvidenceVerifier(List.of(org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root())),
        new MeasurementPins(TeePlatform.TDX, pins, false),
        new org.cloister.trust.attestation.tdx.SimulatedIntelPcs(tdx).collateral(now.minusSeconds(3600)));
    assertThatThrownBy(() -> other.verify(r.platform(), r.evidence(), r.collateral(), r.hpkePublicKey(),
        r.userData(), nonce, now)).isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.MEASUREMENT_MISMATCH));
    // and the enclave itself refuses to start on files other than those its VM was launched with
    assertThatThrownBy(() -> LaunchedConfiguration.require(source, config, "{\"policy\":2}".getBytes(), hpke,
        new SecureRandom())).hasMessageContaining("mr_config_id");
  }
}
