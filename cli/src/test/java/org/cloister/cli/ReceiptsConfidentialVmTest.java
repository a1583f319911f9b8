package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.coordinator.store.JdbcStudyStore;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.runtime.EvidenceSource;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.cloister.trust.pki.CertificateAuthority;
import org.cloister.trust.pki.EcCurve;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Receipts of an enclave on SEV-SNP (reports from {@link SimulatedSnpPlatform}, the test double of the hardware):
 * {@code receipts verify --expected-measurements} accepts them, and refuses another image, a configuration
 * swapped after signing, a receipt signed by a key the report does not bind, and a Nitro verifier's view.
 */
class ReceiptsConfidentialVmTest {
  static final byte[] MEASUREMENT = filled(0x42);
  @TempDir
  static Path dir;
  static SimulatedSnpPlatform snp;
  static byte[] config;
  static byte[] policy;

  static byte[] filled(int b) {
    byte[] m = new byte[48];
    Arrays.fill(m, (byte) b);
    return m;
  }

  @BeforeAll
  static void consortium() throws Exception {
    snp = new SimulatedSnpPlatform(3);
    Pem.writeCertificates(dir.resolve("dev-ark.pem"), List.of(snp.ark()));
    Path collateral = Files.createDirectories(dir.resolve("collateral"));
    Files.write(collateral.resolve("vcek.der"), snp.chainDer().get(0));
    Files.write(collateral.resolve("ask.der"), snp.chainDer().get(1));
    Files.writeString(dir.resolve("expected-measurements.json"),
        new MeasurementPins(TeePlatform.SEV_SNP, Map.of("measurement", MEASUREMENT), false).toJson());
    Instant now = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    CertificateAuthority ca = CertificateAuthority.createRoot("t", EcCurve.P256, now.minusSeconds(60),
        now.plus(1, ChronoUnit.DAYS), new SecureRandom());
    Map<String, byte[]> members = new LinkedHashMap<>();
    for (String s : List.of("site-1", "site-2")) {
      members.put(s, SecureAggregationSetup.newSealingKey().publicKey());
    }
    AggregationPolicy p = new AggregationPolicy(AggregationPolicy.FORMAT, "s", "logreg", 4, 10, 2, 2, null,
        AggregationPolicy.FEDAVG);
    SecureAggregationSetup.EnclaveFiles files = SecureAggregationSetup.enclaveFiles(dir.resolve("enclave"), p, members,
        java.util.Set.of(), ca.certificate(), ca.certificate());
    config = Files.readAllBytes(files.config());
    policy = Files.readAllBytes(files.policy());
  }

  /** The SNP evidence source of an enclave measured {@code measurement} (as configfs-tsm would give it). */
  static EvidenceSource snpSource(byte[] measurement) {
    return (nonce, userData, publicKey) -> {
      try {
        byte[] report = snp.report(ReportDataBinding.reportData(nonce, publicKey, userData), measurement,
            SimulatedSnpPlatform.POLICY);
        return EvidenceWire.confidentialVm("sev-snp", report, List.of(), publicKey, userData);
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    };
  }

  static Path database(Path where, ReceiptIssuer issuer, java.util.function.UnaryOperator<SignedReceipt> edit)
      throws Exception {
    Path db = where.resolve("c.db");
    ModelArtifact m1 = ModelArtifact.newBuilder().setStudyId("s").setVersion(1).build();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + db)) {
      store.openStudy("s", "fp", m1);
      ModelArtifact m2 = m1.toBuilder().setVersion(2).setPayload(ByteString.copyFromUtf8("weights")).build();
      SignedReceipt signed = issuer.issue(AggregationReceipt.newBuilder().setStudyId("s").setRound(1).setRoundId("r1")
          .setBaseModelVersion(1).setModelVersion(2).setCohortFloor(2)
          .setModelSha256(ByteString.copyFrom(java.security.MessageDigest.getInstance("SHA-256")
              .digest(m2.getPayload().toByteArray())))
          .addContributions(contribution("site-1")).addContributions(contribution("site-2")));
      store.commitRound("s", new RoundResult(1, "r1", 2, List.of("site-1", "site-2"), List.of("site-1", "site-2"),
          Map.of(), 2, true, Map.of(), 2, Map.of()), m2, List.of(), edit.apply(signed).toByteArray());
    }
    return db;
  }

  static ReceiptContribution contribution(String site) {
    return ReceiptContribution.newBuilder().setSiteId(site).setStatementSha256(ByteString.copyFrom(new byte[32])).build();
  }

  static ReceiptIssuer issuer(byte[] measurement) {
    return new ReceiptIssuer(EnclaveSigner.generate(new SecureRandom()), snpSource(measurement), new byte[32],
        config, policy, Clock.systemUTC());
  }

  static CloisterCommandTest.Run verify(Path db) {
    return CloisterCommandTest.run("receipts", "verify", "--database", db.toString(), "--expected-measurements",
        dir.resolve("expected-measurements.json").toString(), "--collateral", dir.resolve("collateral").toString(),
        "--development-amd-root", dir.resolve("dev-ark.pem").toString(), "--json");
  }

  @Test
  void receiptsOfAnEnclaveOnSevSnpVerify(@TempDir Path tmp) throws Exception {
    CloisterCommandTest.Run r = verify(database(tmp, issuer(MEASUREMENT), s -> s));
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("\"receipts\":1,\"valid\":true");
    assertThat(r.err()).contains("SEV-SNP TEST DOUBLE");
  }

  @Test
  void anotherImageIsRefused(@TempDir Path tmp) throws Exception {
    CloisterCommandTest.Run r = verify(database(tmp, issuer(filled(0x43)), s -> s));
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("its attestation does not verify (MEASUREMENT_MISMATCH)");
  }

  @Test
  void aConfigurationSwappedAfterSigningIsRefused(@TempDir Path tmp) throws Exception {
    byte[] other = new String(config, java.nio.charset.StandardCharsets.UTF_8).replace("site-2", "site-9")
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    CloisterCommandTest.Run r = verify(database(tmp, issuer(MEASUREMENT),
        s -> s.toBuilder().setEnclaveConfig(ByteString.copyFrom(other)).build()));
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("NONCE_MISMATCH").contains("configuration or policy was altered after signing");
  }

  @Test
  void aSignatureByAKeyTheReportDoesNotBindIsRefused(@TempDir Path tmp) throws Exception {
    CloisterCommandTest.Run r = verify(database(tmp, issuer(MEASUREMENT), s -> s.toBuilder().setSignature(
        ByteString.copyFrom(EnclaveSigner.generate(new SecureRandom()).sign(ReceiptIssuer.PURPOSE,
            s.getReceipt().toByteArray()))).build()));
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("the enclave signature over the receipt does not verify");
  }

  @Test
  void aVerifierPinningNitroRefusesSnpReceiptsAndThePlatformMustBeNamed(@TempDir Path tmp) throws Exception {
    Path db = database(tmp, issuer(MEASUREMENT), s -> s);
    Pem.writeCertificates(tmp.resolve("root.pem"), List.of(snp.ark()));
    SecureAggregationSetup.writePcrs(tmp.resolve(ReceiptsCommand.PCRS_FILE),
        Map.of(0, new byte[48], 1, new byte[48], 2, new byte[48]));
    CloisterCommandTest.Run nitro = CloisterCommandTest.run("receipts", "verify", "--database", db.toString(),
        "--trust-root", tmp.resolve("root.pem").toString(), "--json");
    assertThat(nitro.code()).as(nitro.out() + nitro.err()).isEqualTo(1);
    assertThat(nitro.out()).contains("carries sev-snp evidence but this verifier pins Nitro PCRs");
    CloisterCommandTest.Run neither = CloisterCommandTest.run("receipts", "verify", "--database", db.toString());
    assertThat(neither.code()).isEqualTo(2);
    assertThat(neither.err()).contains("--trust-root (Nitro) or --expected-measurements (SEV-SNP/TDX), exactly one");
  }
}
