package org.cloister.trust.attestation.tdx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerifiedEvidence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The TDX TEST DOUBLE ({@link SimulatedTdxPlatform}) produces quotes the real {@link TdxVerifier} accepts only when
 * told to trust the double's root, with every check of a real quote applied: Intel's pinned root refuses them,
 * flipped bytes, an out-of-date module, a debug TD, expired collateral and a wrong MRTD are each refused by name;
 * two doubles from the same secret agree byte for byte on the root (the enclave process and the parties build
 * their own).
 */
class TdxTestDoubleTest {
  private static final Instant ISSUED = Instant.parse("2026-06-01T00:00:00Z");
  private static final Instant AT = ISSUED.plus(Duration.ofDays(1));
  private static final byte[] MR_TD = filled(48, 0x11);
  private static final byte[] MR_CONFIG_ID = filled(48, 0x22);
  private static final byte[] REPORT_DATA = filled(64, 0x33);
  private static SimulatedTdxPlatform tdx;
  private static Collateral collateral;

  @BeforeAll
  static void platform() throws Exception {
    tdx = SimulatedTdxPlatform.fromSecret("development root key".getBytes());
    collateral = new SimulatedIntelPcs(tdx).collateral(ISSUED);
  }

  @Test
  void aQuoteOfTheDoubleVerifiesWithItsRootAndCollateral() throws Exception {
    VerifiedEvidence v = org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root()).verify(tdx.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID), collateral,
        EvidencePolicy.at(AT).withExpected("mr_td", MR_TD).withExpected("mr_config_id", MR_CONFIG_ID));
    assertThat(v.measurements()).containsEntry("mr_td", HexFormat.of().formatHex(MR_TD))
        .containsEntry("mr_config_id", HexFormat.of().formatHex(MR_CONFIG_ID));
    assertThat(v.reportData()).hasValueSatisfying(r -> assertThat(r).isEqualTo(REPORT_DATA));
    assertThat(v.tcb()).hasValueSatisfying(s -> assertThat(s.status()).isEqualTo("UpToDate"));
    assertThat(v.debug()).isFalse();
  }

  @Test
  void twoDoublesFromOneSecretShareTheirRootAndCertifyEachOthersQuotes() throws Exception {
    SimulatedTdxPlatform other = SimulatedTdxPlatform.fromSecret("development root key".getBytes());
    assertThat(other.root().getEncoded()).isEqualTo(tdx.root().getEncoded());
    assertThat(org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root()).verify(other.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID), collateral,
        EvidencePolicy.at(AT)).platform().id()).isEqualTo("tdx");
  }

  @Test
  void intelsPinnedRootRefusesTheDoublesQuotes() throws Exception {
    assertThatThrownBy(() -> new TdxVerifier().verify(tdx.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID), collateral,
        EvidencePolicy.at(AT)))
        .isInstanceOfSatisfying(AttestationException.class,
            e -> assertThat(e.reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT));
    assertThatThrownBy(() -> TdxVerifier.development(IntelSgxRoot.certificate()))
        .hasMessageContaining("Intel's SGX Root CA");
  }

  @Test
  void alteredExpiredOutOfDateDebugAndWrongMeasurementAreRefusedByName() throws Exception {
    byte[] quote = tdx.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID);
    byte[] flipped = quote.clone();
    flipped[TdxQuote.HEADER + 136] ^= 1; // a bit of MRTD
    assertRefused(flipped, EvidencePolicy.at(AT), FailureReason.BAD_SIGNATURE);
    assertRefused(quote, EvidencePolicy.at(ISSUED.plus(Duration.ofDays(31))), FailureReason.EXPIRED_COLLATERAL);
    assertRefused(quote, EvidencePolicy.at(AT).withExpected("mr_td", filled(48, 0x12)),
        FailureReason.MEASUREMENT_MISMATCH);
    byte[] old = tdx.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID, SimulatedTdxPlatform.MODULE_SVN_UP_TO_DATE - 1, false);
    assertRefused(old, EvidencePolicy.at(AT), FailureReason.TCB_NOT_ACCEPTED);
    assertThat(org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root()).verify(old, collateral, EvidencePolicy.at(AT).withOutOfDateTcbAccepted(true))
        .tcb().orElseThrow().advisoryIds()).containsExactly(SimulatedTdxPlatform.ADVISORY);
    byte[] debug = tdx.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID, SimulatedTdxPlatform.MODULE_SVN_UP_TO_DATE, true);
    assertRefused(debug, EvidencePolicy.at(AT), FailureReason.DEBUG_ENCLAVE);
  }

  @Test
  void theWrittenCollateralFolderReadsBackToTheSameVerdict(@TempDir java.nio.file.Path dir) throws Exception {
    new SimulatedIntelPcs(tdx).writeCollateral(dir, ISSUED);
    Collateral read = Collateral.readDirectory(dir);
    assertThat(org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root()).verify(tdx.quote(REPORT_DATA, MR_TD, MR_CONFIG_ID), read, EvidencePolicy.at(AT))
        .tcb().orElseThrow().status()).isEqualTo("UpToDate");
  }

  private static void assertRefused(byte[] quote, EvidencePolicy policy, FailureReason reason) {
    assertThatThrownBy(() -> org.cloister.trust.attestation.tdx.TdxVerifier.development(tdx.root()).verify(quote, collateral, policy))
        .isInstanceOfSatisfying(AttestationException.class, e -> assertThat(e.reason()).as(e.getMessage())
            .isEqualTo(reason));
  }

  private static byte[] filled(int n, int v) {
    byte[] b = new byte[n];
    Arrays.fill(b, (byte) v);
    return b;
  }
}
