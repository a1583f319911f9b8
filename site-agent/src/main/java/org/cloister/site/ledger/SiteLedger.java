package org.cloister.site.ledger;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;

/**
 * The site's own durable record of the privacy it has spent (SQLite, WAL, full sync). A spend is
 * recorded before the update leaves the site, so a restarted site never forgets budget it spent
 * and never trains twice for the same round. The site trusts this record, not the coordinator's.
 */
public final class SiteLedger implements AutoCloseable {
  private final Connection conn;

  /** @param jdbcUrl e.g. {@code jdbc:sqlite:state/site-ledger.db}, or {@code jdbc:sqlite::memory:} for simulations */
  public SiteLedger(String jdbcUrl) {
    try {
      conn = DriverManager.getConnection(jdbcUrl);
      try (Statement st = conn.createStatement()) {
        st.execute("PRAGMA journal_mode=WAL");
        st.execute("PRAGMA synchronous=FULL");
        st.execute("CREATE TABLE IF NOT EXISTS spends (study_id TEXT NOT NULL, round_id TEXT NOT NULL, round INTEGER NOT NULL,"
            + " event_json TEXT NOT NULL, epsilon_after REAL NOT NULL, spend BLOB NOT NULL, signature BLOB NOT NULL,"
            + " recorded_ms INTEGER NOT NULL, PRIMARY KEY (study_id, round_id))");
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot open the site ledger: " + e.getMessage(), e);
    }
  }

  public synchronized boolean hasSpent(String studyId, String roundId) {
    try (PreparedStatement ps = conn.prepareStatement("SELECT 1 FROM spends WHERE study_id = ? AND round_id = ?")) {
      ps.setString(1, studyId);
      ps.setString(2, roundId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the site ledger: " + e.getMessage(), e);
    }
  }

  /** Records a spend durably (committed when this returns). */
  public synchronized void record(String studyId, String roundId, int round, DpEvent event, double epsilonAfter,
                                  byte[] spend, byte[] signature) {
    try (PreparedStatement ps = conn.prepareStatement("INSERT INTO spends VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, studyId);
      ps.setString(2, roundId);
      ps.setInt(3, round);
      ps.setString(4, DpEventJson.toJson(event));
      ps.setDouble(5, epsilonAfter);
      ps.setBytes(6, spend);
      ps.setBytes(7, signature);
      ps.setLong(8, System.currentTimeMillis());
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot record the spend of round " + round + ": " + e.getMessage(), e);
    }
  }

  /** Every event this site has spent in {@code studyId}, in order. */
  public synchronized List<DpEvent> events(String studyId) {
    List<DpEvent> out = new ArrayList<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT event_json FROM spends WHERE study_id = ? ORDER BY recorded_ms, round")) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(DpEventJson.fromJson(rs.getString(1)));
        }
      }
      return out;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the site ledger: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void close() {
    try {
      conn.close();
    } catch (SQLException ignored) {
      // nothing left to do
    }
  }
}
