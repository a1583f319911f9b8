package org.cloister.coordinator.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The store contract on a real PostgreSQL 14 server, started for this class ({@link PostgresServer}). */
class PostgresStudyStoreTest extends StudyStoreContract {
  private static PostgresServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = PostgresServer.start();
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @Override
  String newDatabaseUrl() {
    return server.newDatabase();
  }

  @Test
  void binaryColumnsAreByteaAndTheSchemaHistoryIsFlyways() throws Exception {
    String url = newDatabaseUrl();
    try (JdbcStudyStore store = new JdbcStudyStore(url)) {
      assertThat(store.database().vendor()).isEqualTo(StoreDatabase.Vendor.POSTGRESQL);
    }
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT data_type FROM information_schema.columns WHERE table_name = 'ledger' AND column_name = 'hash'")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("bytea");
    }
    try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT version, success FROM flyway_schema_history ORDER BY installed_rank")) {
      assertThat(rs.next()).isTrue();
      assertThat(rs.getString(1)).isEqualTo("1");
      assertThat(rs.getBoolean(2)).isTrue();
      assertThat(rs.next()).isFalse();
    }
  }

  @Test
  void anUnreachableServerIsAClearErrorWithoutThePassword() {
    String url = "jdbc:postgresql://127.0.0.1:1/cloister?user=c&password=hunter2&connectTimeout=2";
    assertThatThrownBy(() -> new JdbcStudyStore(url))
        .isInstanceOf(StoreException.class)
        .hasMessageContaining("cannot open coordinator database jdbc:postgresql://127.0.0.1:1/cloister?user=c&password=***")
        .message().doesNotContain("hunter2");
  }
}
