package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.util.Map;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.enclave.runtime.EnclaveSigner;
import org.cloister.enclave.service.ReceiptIssuer;
import org.cloister.protocol.v1.AggregationReceipt;
import org.cloister.protocol.v1.ModelArtifact;
import org.cloister.protocol.v1.ReceiptContribution;
import org.cloister.protocol.v1.SignedReceipt;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A study aggregated by the real enclave process stores one signed receipt per published round;
 * `cloister receipts verify` accepts them and names every alteration: an edited receipt, a
 * substituted model, a deleted receipt, a receipt forged by the host.
 */
class ReceiptsCommandTest {
  @TempDir
  static Path out;

  @BeforeAll
  static void runStudy() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("simulate", "--sites", "3", "--rounds", "2", "--min-sites", "2",
        "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
  }

  private static CloisterCommandTest.Run verify(Path db, String... more) {
    String[] args = new String[] {"receipts", "verify", "--database", db.toString(), "--trust-root",
        out.resolve("consortium").resolve("dev-attestation-root.pem").toString()};
    String[] all = java.util.Arrays.copyOf(args, args.length + more.length);
    System.arraycopy(more, 0, all, args.length, more.length);
    return CloisterCommandTest.run(all);
  }

  private static Path copyDb(Path dir) throws Exception {
    Path db = dir.resolve("c.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + out.resolve("coordinator.db"))) {
      c.createStatement().execute("VACUUM INTO '" + db + "'");
    }
    return db;
  }

  private static byte[] receipt(Connection c, int seq) throws Exception {
    try (ResultSet rs = c.createStatement().executeQuery("SELECT receipt FROM receipts ORDER BY seq LIMIT 1 OFFSET "
        + (seq - 1))) {
      assertThat(rs.next()).isTrue();
      return rs.getBytes(1);
    }
  }

  private static void replaceReceipt(Connection c, byte[] old, byte[] replacement) throws Exception {
    try (PreparedStatement ps = c.prepareStatement("UPDATE receipts SET receipt = ? WHERE receipt = ?")) {
      ps.setBytes(1, replacement);
      ps.setBytes(2, old);
      assertThat(ps.executeUpdate()).isEqualTo(1);
    }
  }

  @Test
  void everyPublishedRoundHasOneValidReceiptListingItsSites() {
    CloisterCommandTest.Run r = verify(out.resolve("coordinator.db"));
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("{\"receipts\":2,\"valid\":true,\"problems\":[]}")
        .contains("round 1: model version 2 from ").contains("round 2: model version 3 from ");
    assertThat(r.out().lines().filter(l -> l.contains("model version")))
        .allSatisfy(l -> assertThat(l).contains("site-1").contains("site-2").contains("site-3"));
    CloisterCommandTest.Run j = verify(out.resolve("coordinator.db"), "--json");
    assertThat(j.out().trim()).isEqualTo("{\"receipts\":2,\"valid\":true,\"problems\":[]}");
  }

  @Test
  void theBudgetReportShowsTheReceipts() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("budget", "report", "--study", "simulation", "--database",
        out.resolve("coordinator.db").toString(), "--trust-root", out.resolve("consortium-ca.crt").toString(),
        "--attestation-root", out.resolve("consortium").resolve("dev-attestation-root.pem").toString());
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("aggregation receipts: verified (2 receipts signed by the attested enclave)")
        .contains("Aggregation receipts (signed by the enclave; check them with `cloister receipts verify`): 2")
        .contains("round 1: model version 2 from ").contains("Central DP: none recorded");
  }

  @Test
  void theBudgetReportIsInvalidWhenAReceiptIsNot(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      c.createStatement().executeUpdate("DELETE FROM receipts WHERE round = 2");
    }
    CloisterCommandTest.Run r = CloisterCommandTest.run("budget", "report", "--study", "simulation", "--database",
        db.toString(), "--trust-root", out.resolve("consortium-ca.crt").toString(),
        "--attestation-root", out.resolve("consortium").resolve("dev-attestation-root.pem").toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("aggregation receipts: INVALID").contains("round 2 published model version 3 but has no receipt");
  }

  @Test
  void anEditedReceiptFailsItsSignature(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      byte[] stored = receipt(c, 2);
      SignedReceipt s = SignedReceipt.parseFrom(stored);
      // the host drops a contributor from what the enclave signed
      AggregationReceipt edited = AggregationReceipt.parseFrom(s.getReceipt()).toBuilder().removeContributions(0).build();
      replaceReceipt(c, stored, s.toBuilder().setReceipt(edited.toByteString()).build().toByteArray());
    }
    CloisterCommandTest.Run r = verify(db, "--json");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("\"valid\":false").contains("round 2 (model version 3): the receipt is not the one the "
        + "enclave attested").contains("altered after signing");
  }

  @Test
  void aSubstitutedModelNoLongerMatchesTheSignedDigest(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      byte[] artifact;
      try (ResultSet rs = c.createStatement().executeQuery("SELECT artifact FROM models WHERE version = 3")) {
        rs.next();
        artifact = rs.getBytes(1);
      }
      ModelArtifact m = ModelArtifact.parseFrom(artifact);
      byte[] payload = m.getPayload().toByteArray();
      payload[payload.length / 2] ^= 1;
      try (PreparedStatement ps = c.prepareStatement("UPDATE models SET artifact = ? WHERE version = 3")) {
        ps.setBytes(1, m.toBuilder().setPayload(ByteString.copyFrom(payload)).build().toByteArray());
        ps.executeUpdate();
      }
    }
    CloisterCommandTest.Run r = verify(db, "--json");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("round 2 (model version 3)")
        .contains("does not match the digest the enclave signed");
  }

  @Test
  void aDeletedReceiptLeavesAPublishedModelUnaccountedFor(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      c.createStatement().executeUpdate("DELETE FROM receipts WHERE round = 1");
    }
    CloisterCommandTest.Run r = verify(db, "--json");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("\"receipts\":1").contains("round 1 published model version 2 but has no receipt");
  }

  @Test
  void aReceiptForgedByTheHostFails(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      byte[] stored = receipt(c, 1);
      SignedReceipt real = SignedReceipt.parseFrom(stored);
      AggregationReceipt claim = AggregationReceipt.parseFrom(real.getReceipt()).toBuilder().clearContributions()
          .addContributions(ReceiptContribution.newBuilder().setSiteId("site-1").setStatementSha256(ByteString.copyFrom(new byte[32])))
          .build();
      // (a) the host signs with a key of its own, attested by a platform root of its own, with the right PCRs
      Map<Integer, byte[]> pcrs = SecureAggregationSetup.readPcrs(out.resolve("consortium").resolve("expected-pcrs.json"));
      DevelopmentAttestationAuthority own = DevelopmentAttestationAuthority.generate(Clock.systemUTC(), new SecureRandom());
      ReceiptIssuer forger = new ReceiptIssuer(EnclaveSigner.generate(new SecureRandom()),
          new SimulatedNitroPlatform(own, "forged", pcrs), real.getEnclaveConfig().toByteArray(),
          real.getAggregationPolicy().toByteArray(), Clock.systemUTC());
      SignedReceipt forged = forger.issue(claim.toBuilder());
      replaceReceipt(c, stored, forged.toByteArray());
      // (b) the real attestation document with the host's own signature over the real receipt
      byte[] second = receipt(c, 2);
      SignedReceipt s2 = SignedReceipt.parseFrom(second);
      byte[] sig = EnclaveSigner.generate(new SecureRandom()).sign(ReceiptIssuer.PURPOSE, s2.getReceipt().toByteArray());
      replaceReceipt(c, second, s2.toBuilder().setSignature(ByteString.copyFrom(sig)).build().toByteArray());
    }
    CloisterCommandTest.Run r = verify(db, "--json");
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("round 1 (model version 2): its attestation does not verify")
        .contains("round 2 (model version 3): the enclave signature over the receipt does not verify");
  }
}
