package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import org.cloister.protocol.v1.PrivacySpend;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `budget report` verifies the ledger before it reports: a tampered ledger gives exit 1 and INVALID everywhere. */
class BudgetReportCommandTest {
  @TempDir
  static Path out;

  @BeforeAll
  static void runStudy() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("simulate", "--sites", "2", "--rounds", "3", "--min-sites", "2",
        "--epsilon", "3", "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
  }

  private static CloisterCommandTest.Run report(Path db, String... more) {
    String[] base = {"budget", "report", "--study", studyId(), "--database", db.toString(), "--trust-root",
        out.resolve("consortium-ca.crt").toString()};
    String[] args = java.util.Arrays.copyOf(base, base.length + more.length);
    System.arraycopy(more, 0, args, base.length, more.length);
    return CloisterCommandTest.run(args);
  }

  private static String studyId() {
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + out.resolve("coordinator.db"));
         ResultSet rs = c.createStatement().executeQuery("SELECT study_id FROM studies")) {
      rs.next();
      return rs.getString(1);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static Path copyDb(Path dir) throws Exception {
    Path db = dir.resolve("c.db");
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + out.resolve("coordinator.db"))) {
      c.createStatement().execute("VACUUM INTO '" + db + "'");
    }
    return db;
  }

  @Test
  void anIntactLedgerIsReportedWithTheSitesOwnFigureBesideTheRecomputation(@TempDir Path dir) throws Exception {
    Path html = dir.resolve("budget.html");
    CloisterCommandTest.Run text = report(out.resolve("coordinator.db"), "--accountant", "rdp", "--html", html.toString());
    assertThat(text.code()).as(text.out() + text.err()).isZero();
    assertThat(text.out()).contains("privacy ledger: verified").contains("RDP accountant").contains(" own ")
        .doesNotContain("INVALID").doesNotContain("DIFFERENCE");
    String page = Files.readString(html);
    assertThat(page).contains("verified").contains("<th>own</th>").contains("Ledger head: <code>").contains("Accountant: RDP")
        .doesNotContain("INVALID");

    JsonNode rdp = new ObjectMapper().readTree(report(out.resolve("coordinator.db"), "--accountant", "rdp", "--json").out());
    JsonNode pld = new ObjectMapper().readTree(report(out.resolve("coordinator.db"), "--json").out());
    assertThat(rdp.get("valid").asBoolean()).isTrue();
    assertThat(pld.get("accountant").asText()).isEqualTo("pld");
    for (int i = 0; i < 2; i++) {
      JsonNode r = rdp.get("sites").get(i);
      JsonNode p = pld.get("sites").get(i);
      // the site's own (RDP) figure equals the RDP recomputation; PLD is the tighter bound
      assertThat(r.get("reported_epsilon").asDouble()).isCloseTo(r.get("epsilon").asDouble(), org.assertj.core.data.Percentage.withPercentage(1e-4));
      assertThat(p.get("epsilon").asDouble()).isGreaterThan(0).isLessThan(r.get("epsilon").asDouble());
      assertThat(r.get("discrepancy").isNull()).isTrue();
      assertThat(r.get("spends_by_status").get("aggregated").asInt()).isEqualTo(3);
    }
  }

  @Test
  void aTamperedLedgerExitsOneAndEveryOutputSaysInvalid(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      // under-report: the last spend of a site now claims a tiny event and a tiny epsilon
      byte[] spend;
      try (ResultSet rs = c.createStatement().executeQuery("SELECT spend FROM ledger WHERE seq = 5")) {
        rs.next();
        spend = rs.getBytes(1);
      }
      byte[] edited = PrivacySpend.parseFrom(spend).toBuilder().setEpsilonAfter(0.01).build().toByteArray();
      try (PreparedStatement ps = c.prepareStatement("UPDATE ledger SET spend = ? WHERE seq = 5")) {
        ps.setBytes(1, edited);
        ps.executeUpdate();
      }
    }
    Path html = dir.resolve("budget.html");
    CloisterCommandTest.Run text = report(db, "--html", html.toString());
    assertThat(text.code()).isEqualTo(1);
    assertThat(text.out()).contains("privacy ledger: INVALID").contains("entry 5").contains("must not be relied on")
        .contains("(marked INVALID)");
    String page = Files.readString(html);
    assertThat(page).contains("<title>INVALID: Privacy budget").contains("class=\"invalid\" role=\"alert\"")
        .contains("INVALID: this ledger failed verification").contains("entry 5");
    CloisterCommandTest.Run json = report(db, "--json");
    assertThat(json.code()).isEqualTo(1);
    JsonNode root = new ObjectMapper().readTree(json.out());
    assertThat(root.get("valid").asBoolean()).isFalse();
    assertThat(root.get("verdict").asText()).isEqualTo("INVALID");
  }

  @Test
  void anEntryEditedUntilItNoLongerParsesStillGivesAnInvalidPageNotAStaleOne(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db);
         PreparedStatement ps = c.prepareStatement("UPDATE ledger SET spend = ? WHERE seq = 2")) {
      ps.setBytes(1, new byte[] {(byte) 0xff, (byte) 0xff, 0x01}); // not a PrivacySpend
      ps.executeUpdate();
    }
    // an earlier, clean report at the same path must not survive as if it were this one
    Path html = dir.resolve("budget.html");
    assertThat(report(out.resolve("coordinator.db"), "--html", html.toString()).code()).isZero();
    CloisterCommandTest.Run text = report(db, "--html", html.toString());
    assertThat(text.code()).isEqualTo(1);
    assertThat(text.out()).contains("privacy ledger: INVALID").contains("entry 2").contains("(marked INVALID)");
    assertThat(text.err()).doesNotContain("Exception");
    assertThat(Files.readString(html)).contains("<title>INVALID: Privacy budget").contains("entry 2");
    JsonNode root = new ObjectMapper().readTree(report(db, "--json").out());
    assertThat(root.get("verdict").asText()).isEqualTo("INVALID");
    // the unreadable spend is counted as unbounded, never as nothing
    boolean unbounded = false;
    for (JsonNode s : root.get("sites")) {
      unbounded |= "Infinity".equals(s.get("epsilon").asText());
    }
    assertThat(unbounded).as(root.toString()).isTrue();
  }

  @Test
  void aTruncatedLedgerIsInvalid(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      c.createStatement().executeUpdate("DELETE FROM ledger WHERE seq > 4");
    }
    CloisterCommandTest.Run text = report(db, "--accountant", "rdp");
    assertThat(text.code()).isEqualTo(1);
    assertThat(text.out()).contains("ledger truncated").contains("INVALID: see the verification problems above");
  }

  @Test
  void aSpendMissingFromTheLedgerShowsAgainstTheSitesOwnFigure(@TempDir Path dir) throws Exception {
    Path db = copyDb(dir);
    String party;
    try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + db)) {
      try (ResultSet rs = c.createStatement().executeQuery("SELECT party_id FROM ledger WHERE seq = 1")) {
        rs.next();
        party = rs.getString(1);
      }
      c.createStatement().executeUpdate("DELETE FROM ledger WHERE seq = 1");
    }
    CloisterCommandTest.Run text = report(db, "--accountant", "rdp");
    assertThat(text.code()).isEqualTo(1);
    // the site's later signed spends carry its cumulative figure, which the remaining entries do not add up to
    assertThat(text.out()).contains("DIFFERENCE: the site's own signed figure").contains("spends are missing from this ledger");
    assertThat(text.out().lines().filter(l -> l.contains("DIFFERENCE")).count()).isEqualTo(1);
    assertThat(text.out()).containsPattern(party + "\\s+2\\s");
  }

  @Test
  void theTrustRootIsRequired() {
    CloisterCommandTest.Run r = CloisterCommandTest.run("budget", "report", "--study", studyId(), "--database",
        out.resolve("coordinator.db").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("--trust-root");
  }
}
