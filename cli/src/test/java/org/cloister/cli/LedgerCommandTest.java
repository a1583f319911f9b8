package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import org.cloister.protocol.v1.PrivacySpend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A simulated study's privacy ledger verifies; edited, forged and deleted rows are detected. */
class LedgerCommandTest {
  @TempDir
  static Path out;

  @BeforeAll
  static void runStudy() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("simulate", "--sites", "2", "--rounds", "3", "--min-sites", "2",
        "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
  }

  private static CloisterCommandTest.Run verify(Path db) {
    return CloisterCommandTest.run("ledger", "verify", "--database", db.toString(), "--trust-root",
        out.resolve("consortium-ca.crt").toString());
  }

  private static Path copyDb(Path dir) throws Exception {
    Path db = dir.resolve("c.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + out.resolve("coordinator.db"))) {
      c.createStatement().execute("VACUUM INTO '" + db + "'");
    }
    return db;
  }

  @Test
  void intactLedgerHasOneSignedEntryPerSiteAndRound() {
    CloisterCommandTest.Run r = verify(out.resolve("coordinator.db"));
    assertThat(r.code()).as(r.out() + r.err()).isZero();
    assertThat(r.out()).contains("6 entries").contains("valid");
  }

  @Test
  void editedSpendIsDetected(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      byte[] spend;
      try (ResultSet rs = c.createStatement().executeQuery("SELECT spend FROM ledger WHERE seq = 3")) {
        rs.next();
        spend = rs.getBytes(1);
      }
      // a coordinator trying to under-report a site's spend
      byte[] edited = PrivacySpend.parseFrom(spend).toBuilder().setEpsilonAfter(0.01).build().toByteArray();
      try (PreparedStatement ps = c.prepareStatement("UPDATE ledger SET spend = ? WHERE seq = 3")) {
        ps.setBytes(1, edited);
        ps.executeUpdate();
      }
    }
    CloisterCommandTest.Run r = verify(db);
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("INVALID").contains("entry 3").contains("entry edited").contains("signature does not verify");
  }

  @Test
  void deletedRowBreaksTheChain(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      c.createStatement().executeUpdate("DELETE FROM ledger WHERE seq = 2");
    }
    CloisterCommandTest.Run r = verify(db);
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("chain broken").contains("a row was removed or inserted");
  }

  @Test
  void entriesDeletedFromTheEndAreCaughtByTheSignedCheckpoints(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      // the last round's two entries go: the chain that remains is intact on its own
      c.createStatement().executeUpdate("DELETE FROM ledger WHERE seq > 4");
    }
    CloisterCommandTest.Run r = verify(db);
    assertThat(r.code()).as(r.out()).isEqualTo(1);
    assertThat(r.out()).contains("INVALID").contains("4 entries").contains("only 4 remain (ledger truncated)")
        .contains("spend is not in the ledger (entry removed)");
  }

  @Test
  void truncationWithTheRoundRecordsAndStatusesRemovedIsStillCaught(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      // a careful editor removes the last round everywhere except the coordinator-signed checkpoint
      String lastRound;
      try (ResultSet rs = c.createStatement().executeQuery("SELECT round_id FROM rounds ORDER BY seq DESC LIMIT 1")) {
        rs.next();
        lastRound = rs.getString(1);
      }
      c.createStatement().executeUpdate("DELETE FROM ledger WHERE round_id = '" + lastRound + "'");
      c.createStatement().executeUpdate("DELETE FROM spend_status WHERE round_id = '" + lastRound + "'");
      c.createStatement().executeUpdate("DELETE FROM rounds WHERE round_id = '" + lastRound + "'");
    }
    CloisterCommandTest.Run r = verify(db);
    assertThat(r.code()).as(r.out()).isEqualTo(1);
    assertThat(r.out()).contains("ledger truncated").contains("rounds removed");
  }

  @Test
  void removedOrForgedCheckpointsAreCaught(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      c.createStatement().executeUpdate("DELETE FROM ledger WHERE seq > 4");
      c.createStatement().executeUpdate("DELETE FROM ledger_checkpoints WHERE rounds = 3");
      // rewrite the round-2 checkpoint to claim fewer entries: its signature no longer verifies
      byte[] cp;
      try (ResultSet rs = c.createStatement().executeQuery("SELECT checkpoint FROM ledger_checkpoints WHERE rounds = 2")) {
        rs.next();
        cp = rs.getBytes(1);
      }
      byte[] edited = org.cloister.protocol.v1.LedgerCheckpoint.parseFrom(cp).toBuilder().setEntries(2).build().toByteArray();
      try (PreparedStatement ps = c.prepareStatement("UPDATE ledger_checkpoints SET checkpoint = ? WHERE rounds = 2")) {
        ps.setBytes(1, edited);
        ps.executeUpdate();
      }
    }
    CloisterCommandTest.Run r = verify(db);
    assertThat(r.code()).as(r.out()).isEqualTo(1);
    assertThat(r.out()).contains("round record 3 has no valid signed checkpoint")
        .contains("checkpoint after round record 2: signature does not verify (checkpoint forged or edited)");
  }

  @Test
  void aConsistentRewriteIsCaughtAgainstASitesOwnLedger(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    Path siteLedger = dir.resolve("site-ledger.db");
    String study;
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
         org.cloister.site.ledger.SiteLedger site = new org.cloister.site.ledger.SiteLedger("jdbc:sqlite:" + siteLedger)) {
      // site-1's own ledger: the spends it signed, as its agent recorded them
      try (ResultSet rs = c.createStatement().executeQuery("SELECT study_id, round_id, round, spend, signature FROM ledger"
          + " WHERE party_id = 'site-1' ORDER BY seq")) {
        study = null;
        while (rs.next()) {
          study = rs.getString(1);
          PrivacySpend p = PrivacySpend.parseFrom(rs.getBytes(4));
          site.record(study, rs.getString(2), rs.getInt(3), p.getDatasetId(),
              org.cloister.dp.events.DpEventJson.fromJson(p.getEventJson()), p.getEpsilonAfter(), rs.getBytes(4), rs.getBytes(5));
        }
      }
      // whoever holds the coordinator's key removes the last round everywhere, checkpoint included
      String lastRound;
      try (ResultSet rs = c.createStatement().executeQuery("SELECT round_id FROM rounds ORDER BY seq DESC LIMIT 1")) {
        rs.next();
        lastRound = rs.getString(1);
      }
      for (String table : new String[] {"ledger", "spend_status", "rounds"}) {
        c.createStatement().executeUpdate("DELETE FROM " + table + " WHERE round_id = '" + lastRound + "'");
      }
      c.createStatement().executeUpdate("DELETE FROM ledger_checkpoints WHERE rounds = 3");
    }
    // the coordinator's database alone cannot show it ...
    CloisterCommandTest.Run alone = verify(db);
    assertThat(alone.code()).as(alone.out()).isZero();
    // ... the site's own record does
    CloisterCommandTest.Run r = CloisterCommandTest.run("ledger", "verify", "--database", db.toString(), "--trust-root",
        out.resolve("consortium-ca.crt").toString(), "--site-ledger", siteLedger.toString());
    assertThat(r.code()).as(r.out()).isEqualTo(1);
    assertThat(r.out()).contains("site-1 signed a spend for round 3").contains("that the coordinator's ledger lacks");
  }

  @Test
  void wrongTrustRootFailsEverySignature(@TempDir Path dir) throws Exception {
    java.nio.file.Path other = dir.resolve("other-ca.crt");
    var ca = org.cloister.trust.pki.CertificateAuthority.createRoot("other", org.cloister.trust.pki.EcCurve.P256,
        java.time.Instant.now().minusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS),
        java.time.Instant.now().plusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS), new java.security.SecureRandom());
    org.cloister.trust.pki.Pem.writeCertificates(other, java.util.List.of(ca.certificate()));
    CloisterCommandTest.Run r = CloisterCommandTest.run("ledger", "verify", "--database", out.resolve("coordinator.db").toString(),
        "--trust-root", other.toString());
    assertThat(r.code()).isEqualTo(1);
    assertThat(r.out()).contains("not valid under the consortium CA");
    // one reason, many entries: the first few, then a count (not one identical line per entry)
    long entryLines = r.out().lines().filter(l -> l.startsWith("  entry ")).count();
    assertThat(entryLines).isLessThanOrEqualTo(LedgerCommand.SAME_PROBLEM_SHOWN);
    assertThat(r.out()).containsPattern("\\.\\.\\. and \\d+ more entries with the same problem: .*not valid under the "
        + "consortium CA.*\\(all listed with --json\\)");
    // the checkpoints are there, they do not verify under this root: not "removed"
    assertThat(r.out()).doesNotContain("(checkpoint removed)").contains("(its checkpoint does not verify: see above)");
  }
}
