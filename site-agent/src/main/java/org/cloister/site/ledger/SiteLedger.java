package org.cloister.site.ledger;

import com.google.protobuf.ByteString;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.dp.events.DpEvent;
import org.cloister.dp.events.DpEventJson;
import org.cloister.protocol.v1.SignedSpend;

/**
 * The site's own durable record of the privacy it has spent (SQLite, WAL, full sync). A spend is
 * recorded before the update leaves the site, so a restarted site never forgets budget it spent
 * and never trains twice for the same round. The site trusts this record, not the coordinator's.
 *
 * <p>The budget belongs to the dataset, not to a study: every spend is filed under the dataset it
 * was made on ({@link DatasetFingerprint}), and {@link #datasetEvents} is what the site's guard
 * starts from, so a new study (or a changed study id) on the same data starts from what was
 * already spent. Spends recorded before datasets were tracked (no dataset id) count against every
 * dataset of this ledger: unknown never means zero.
 *
 * <p>Spends the coordinator has confirmed holding are marked acknowledged; the others are handed
 * over again ({@link #unacknowledged}) when the site reconciles with the coordinator.
 */
public final class SiteLedger implements AutoCloseable {
  private final Connection conn;

  /** Lifetime spend on one dataset: how many rounds in how many studies. */
  public record DatasetSpend(String datasetId, int studies, int rounds) {
  }

  /** @param jdbcUrl e.g. {@code jdbc:sqlite:state/site-ledger.db}, or {@code jdbc:sqlite::memory:} for simulations */
  public SiteLedger(String jdbcUrl) {
    try {
      conn = DriverManager.getConnection(jdbcUrl);
      try (Statement st = conn.createStatement()) {
        st.execute("PRAGMA journal_mode=WAL");
        st.execute("PRAGMA synchronous=FULL");
        st.execute("CREATE TABLE IF NOT EXISTS spends (study_id TEXT NOT NULL, round_id TEXT NOT NULL, round INTEGER NOT NULL,"
            + " event_json TEXT NOT NULL, epsilon_after REAL NOT NULL, spend BLOB NOT NULL, signature BLOB NOT NULL,"
            + " recorded_ms INTEGER NOT NULL, dataset_id TEXT NOT NULL DEFAULT '', PRIMARY KEY (study_id, round_id))");
        boolean hasDataset = false;
        try (ResultSet rs = st.executeQuery("PRAGMA table_info(spends)")) {
          while (rs.next()) {
            hasDataset |= "dataset_id".equals(rs.getString("name"));
          }
        }
        if (!hasDataset) { // a ledger written before budgets were per dataset
          st.execute("ALTER TABLE spends ADD COLUMN dataset_id TEXT NOT NULL DEFAULT ''");
        }
        st.execute("CREATE TABLE IF NOT EXISTS acknowledged (study_id TEXT NOT NULL, round_id TEXT NOT NULL,"
            + " PRIMARY KEY (study_id, round_id))");
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

  /** Records a spend on {@code datasetId} durably (committed when this returns). */
  public synchronized void record(String studyId, String roundId, int round, String datasetId, DpEvent event, double epsilonAfter,
                                  byte[] spend, byte[] signature) {
    try (PreparedStatement ps = conn.prepareStatement("INSERT INTO spends VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      ps.setString(1, studyId);
      ps.setString(2, roundId);
      ps.setInt(3, round);
      ps.setString(4, DpEventJson.toJson(event));
      ps.setDouble(5, epsilonAfter);
      ps.setBytes(6, spend);
      ps.setBytes(7, signature);
      ps.setLong(8, System.currentTimeMillis());
      ps.setString(9, datasetId);
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot record the spend of round " + round + ": " + e.getMessage(), e);
    }
  }

  /** Every event this site has spent in {@code studyId}, in order. */
  public synchronized List<DpEvent> events(String studyId) {
    return query("SELECT event_json FROM spends WHERE study_id = ? ORDER BY recorded_ms, round", studyId);
  }

  /**
   * Every event spent on {@code datasetId}, in every study, in order (plus spends recorded before
   * datasets were tracked): what the site's budget guard composes.
   */
  public synchronized List<DpEvent> datasetEvents(String datasetId) {
    if (datasetId == null || datasetId.isBlank()) {
      throw new IllegalArgumentException("a dataset id is required");
    }
    return query("SELECT event_json FROM spends WHERE dataset_id = ? OR dataset_id = '' ORDER BY recorded_ms, round", datasetId);
  }

  /** Lifetime spend per dataset (spends without a dataset id under ""). */
  public synchronized List<DatasetSpend> datasets() {
    List<DatasetSpend> out = new ArrayList<>();
    try (Statement st = conn.createStatement();
         ResultSet rs = st.executeQuery("SELECT dataset_id, COUNT(DISTINCT study_id), COUNT(*) FROM spends GROUP BY dataset_id ORDER BY dataset_id")) {
      while (rs.next()) {
        out.add(new DatasetSpend(rs.getString(1), rs.getInt(2), rs.getInt(3)));
      }
      return out;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the site ledger: " + e.getMessage(), e);
    }
  }

  /** Every signed spend of this site in {@code studyId}, by round id, in order. */
  public synchronized Map<String, SignedSpend> signedSpends(String studyId) {
    return signedSpendsWhere("SELECT s.round_id, s.spend, s.signature FROM spends s WHERE s.study_id = ?"
        + " ORDER BY s.recorded_ms, s.round", studyId);
  }

  /** This study's signed spends the coordinator has not confirmed holding, by round id, in order. */
  public synchronized Map<String, SignedSpend> unacknowledged(String studyId) {
    return signedSpendsWhere("SELECT s.round_id, s.spend, s.signature FROM spends s WHERE s.study_id = ?"
        + " AND NOT EXISTS (SELECT 1 FROM acknowledged a WHERE a.study_id = s.study_id AND a.round_id = s.round_id)"
        + " ORDER BY s.recorded_ms, s.round", studyId);
  }

  private Map<String, SignedSpend> signedSpendsWhere(String sql, String studyId) {
    Map<String, SignedSpend> out = new LinkedHashMap<>();
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), SignedSpend.newBuilder().setSpend(ByteString.copyFrom(rs.getBytes(2)))
              .setSignature(ByteString.copyFrom(rs.getBytes(3))).build());
        }
      }
      return out;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read the site ledger: " + e.getMessage(), e);
    }
  }

  /** Marks spends of {@code studyId} as held by the coordinator. */
  public synchronized void acknowledge(String studyId, Collection<String> roundIds) {
    try (PreparedStatement ps = conn.prepareStatement("INSERT OR IGNORE INTO acknowledged VALUES (?, ?)")) {
      for (String r : roundIds) {
        ps.setString(1, studyId);
        ps.setString(2, r);
        ps.executeUpdate();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot update the site ledger: " + e.getMessage(), e);
    }
  }

  private List<DpEvent> query(String sql, String arg) {
    List<DpEvent> out = new ArrayList<>();
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      ps.setString(1, arg);
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
