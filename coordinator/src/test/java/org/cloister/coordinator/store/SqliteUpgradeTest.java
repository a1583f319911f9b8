package org.cloister.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.cloister.coordinator.rounds.RoundResult;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A coordinator database written by the code before migrations (commit a9a6ca4, through
 * {@link LegacyDatabaseMaker}; the file is checked in, so this is that code's output, not a
 * re-creation of its schema) upgrades in place: baselined at 0, migration 1 applied as a no-op,
 * every study, round, model, ledger entry, checkpoint and receipt kept, and the chain goes on.
 */
class SqliteUpgradeTest {

  @Test
  void aDatabaseFromBeforeMigrationsKeepsItsStudiesAndLedger(@TempDir Path dir) throws Exception {
    Path db = dir.resolve("coordinator.db");
    try (InputStream in = getClass().getResourceAsStream("/store/coordinator-before-migrations.db")) {
      Files.copy(in, db);
    }
    X509Certificate ca;
    try (InputStream in = getClass().getResourceAsStream("/store/coordinator-before-migrations-ca.der")) {
      ca = (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(in.readAllBytes()));
    }
    String url = "jdbc:sqlite:" + db;
    assertThat(historyOf(url)).isEmpty();

    StoreScenario sc = new StoreScenario();
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      assertThat(store.database().schemaVersion()).isEqualTo(1);
      StoreScenario.verify(store, ca);
      StoreScenario.verifyCheckpoints(store, ca);
      // the chain goes on from the upgraded head
      byte[] head = store.ledger(StoreScenario.STUDY).get(4).hash();
      store.commitRound(StoreScenario.STUDY, new RoundResult(3, "rid-3b", 1, List.of("B"), List.of("B"), Map.of(), 3, true,
          Map.of(), 1, Map.of()), StoreScenario.model(3, 3f, 3f), List.of(StoreScenario.spend(sc.siteB, "B", 3, "rid-3b", 1.2)));
      assertThat(store.ledger(StoreScenario.STUDY).get(5).previousHash()).isEqualTo(head);
    }
    assertThat(historyOf(url)).containsExactly("0:BASELINE", "1:SQL");
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      assertThat(store.rounds(StoreScenario.STUDY)).hasSize(3);
    }
    assertThat(historyOf(url)).containsExactly("0:BASELINE", "1:SQL");
  }

  private static List<String> historyOf(String url) throws Exception {
    List<String> out = new ArrayList<>();
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
         ResultSet tables = st.executeQuery("SELECT count(*) FROM sqlite_master WHERE name = 'flyway_schema_history'")) {
      tables.next();
      if (tables.getInt(1) == 0) {
        return out;
      }
    }
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT version, type FROM flyway_schema_history ORDER BY installed_rank")) {
      while (rs.next()) {
        out.add(rs.getString(1) + ":" + rs.getString(2));
      }
    }
    return out;
  }
}
