package org.cloister.coordinator.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.InvalidProtocolBufferException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.cloister.coordinator.ledger.CheckpointSigner;
import org.cloister.coordinator.ledger.LedgerRecord;
import org.cloister.coordinator.rounds.RoundResult;
import org.cloister.trust.ledger.LedgerChain;
import org.cloister.protocol.v1.ModelArtifact;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link StudyStore} over JDBC: SQLite by default (WAL journal, {@code synchronous=FULL}, so a
 * committed round survives {@code kill -9} and power loss), or a PostgreSQL server, through a
 * pooled {@link StoreDatabase} whose schema Flyway migrates on opening. Each operation is one
 * transaction on a pooled connection, under this object's lock (this process is the study's only
 * writer); a lost PostgreSQL connection is replaced by the pool at the next operation.
 */
public final class JdbcStudyStore implements StudyStore {
  private static final Logger log = LoggerFactory.getLogger(JdbcStudyStore.class);
  private final StoreDatabase db;
  private final ObjectMapper json = new ObjectMapper();
  private final CheckpointSigner checkpointSigner;
  /** The connection of the transaction in progress (only touched under this object's lock). */
  private Connection conn;

  /**
   * Opens (creating and migrating if needed) the database at {@code jdbcUrl}, e.g.
   * {@code jdbc:sqlite:/var/lib/cloister/coordinator.db} or {@code jdbc:postgresql://db:5432/cloister},
   * without signing checkpoints (for reading, or a development coordinator).
   */
  public JdbcStudyStore(String jdbcUrl) {
    this(jdbcUrl, null);
  }

  /**
   * @param checkpointSigner signs a checkpoint of the ledger head with every committed round (null: none)
   */
  public JdbcStudyStore(String jdbcUrl, CheckpointSigner checkpointSigner) {
    this(StoreDatabase.open(jdbcUrl), checkpointSigner);
  }

  /** Over an open database, which this store closes. */
  public JdbcStudyStore(StoreDatabase db, CheckpointSigner checkpointSigner) {
    this.db = db;
    this.checkpointSigner = checkpointSigner;
  }

  /** The database vendor and schema version, for the operator. */
  public StoreDatabase database() {
    return db;
  }

  /**
   * Runs {@code body} with {@link #conn} set to a pooled connection (auto-commit off), which the
   * body commits or rolls back; the connection goes back to the pool afterwards (rolled back by the
   * pool if the body left work uncommitted).
   */
  private <T> T on(java.util.function.Supplier<T> body) {
    if (conn != null) {
      return body.get(); // called from within another operation of this store: its connection
    }
    try (Connection c = db.connection()) {
      conn = c;
      return body.get();
    } catch (SQLException e) {
      throw new StoreException("cannot reach the coordinator database: " + e.getMessage(), e);
    } finally {
      conn = null;
    }
  }

  private void on(Runnable body) {
    on(() -> {
      body.run();
      return null;
    });
  }

  private static String abbreviate(String fp) {
    return fp.length() <= 12 ? fp : fp.substring(0, 12) + "...";
  }

  /** Hides credentials that a PostgreSQL URL may carry. */
  static String redact(String url) {
    return StoreDatabase.redact(url);
  }

  @Override
  public synchronized StudyState openStudy(String studyId, String fingerprint, ModelArtifact initialModel) {
    return on(() -> {
      try {
        try (PreparedStatement ps = conn.prepareStatement("SELECT fingerprint, status, status_detail, latest_version FROM studies WHERE study_id = ?")) {
          ps.setString(1, studyId);
          try (ResultSet rs = ps.executeQuery()) {
            if (rs.next()) {
              if (!rs.getString(1).equals(fingerprint)) {
                throw new IllegalStateException("study " + studyId + " exists in the database with a different configuration"
                    + " (stored fingerprint " + abbreviate(rs.getString(1)) + ", given " + abbreviate(fingerprint)
                    + "): use a new study id or the original configuration");
              }
              String status = rs.getString(2);
              String detail = rs.getString(3);
              long latest = rs.getLong(4);
              StudyState s = new StudyState(status, detail, loadRounds(studyId),
                  model(studyId, latest).orElseThrow(() -> new StoreException("model version " + latest + " missing")),
                  loadSites(studyId));
              conn.commit();
              log.info("study {} reopened: {} rounds recorded, model version {}", studyId, s.rounds().size(), latest);
              return s;
            }
          }
        }
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO studies VALUES (?, ?, ?, ?, ?, ?)")) {
          ps.setString(1, studyId);
          ps.setString(2, fingerprint);
          ps.setString(3, "created");
          ps.setString(4, "");
          ps.setLong(5, initialModel.getVersion());
          ps.setLong(6, System.currentTimeMillis());
          ps.executeUpdate();
        }
        insertModel(studyId, initialModel);
        conn.commit();
        return new StudyState("created", "", List.of(), initialModel, Map.of());
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot open study " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized void saveSite(String studyId, String siteId, long numExamples) {
    on(() -> {
      try {
        try (PreparedStatement del = conn.prepareStatement("DELETE FROM sites WHERE study_id = ? AND site_id = ?");
             PreparedStatement ins = conn.prepareStatement("INSERT INTO sites VALUES (?, ?, ?)")) {
          del.setString(1, studyId);
          del.setString(2, siteId);
          del.executeUpdate();
          ins.setString(1, studyId);
          ins.setString(2, siteId);
          ins.setLong(3, numExamples);
          ins.executeUpdate();
        }
        conn.commit();
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot record site " + siteId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized void commitRound(String studyId, RoundResult result, ModelArtifact newModel, List<LedgerRecord> spends,
                                       byte[] receipt) {
    on(() -> {
      try {
        long seq;
        try (PreparedStatement ps = conn.prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM rounds WHERE study_id = ?")) {
          ps.setString(1, studyId);
          try (ResultSet rs = ps.executeQuery()) {
            rs.next();
            seq = rs.getLong(1) + 1;
          }
        }
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO rounds VALUES (?, ?, ?, ?, ?, ?, ?)")) {
          ps.setString(1, studyId);
          ps.setLong(2, seq);
          ps.setInt(3, result.round());
          ps.setString(4, result.roundId());
          ps.setInt(5, result.quorumMet() ? 1 : 0);
          ps.setLong(6, result.modelVersion());
          ps.setString(7, json.writeValueAsString(result));
          ps.executeUpdate();
        }
        for (LedgerRecord r : spends) {
          String party = r.partyId();
          boolean aggregated = result.quorumMet() && result.aggregated().contains(party);
          String reason = aggregated ? "" : result.rejected().getOrDefault(party, result.quorumMet() ? "not aggregated"
              : "round " + result.round() + " without quorum");
          appendIfAbsent(studyId, r);
          setStatus(studyId, party, r.spend().getRoundId(), aggregated ? "aggregated" : "rejected", reason);
        }
        if (receipt != null) {
          try (PreparedStatement ps = conn.prepareStatement("INSERT INTO receipts VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, studyId);
            ps.setLong(2, seq);
            ps.setInt(3, result.round());
            ps.setString(4, result.roundId());
            ps.setLong(5, result.modelVersion());
            ps.setBytes(6, receipt);
            ps.executeUpdate();
          }
        }
        if (newModel != null) {
          insertModel(studyId, newModel);
          try (PreparedStatement ps = conn.prepareStatement("UPDATE studies SET latest_version = ? WHERE study_id = ?")) {
            ps.setLong(1, newModel.getVersion());
            ps.setString(2, studyId);
            ps.executeUpdate();
          }
        }
        if (checkpointSigner != null) {
          writeCheckpoint(studyId, (int) seq);
        }
        conn.commit();
      } catch (SQLException | JsonProcessingException e) {
        rollback();
        throw new StoreException("cannot commit round " + result.round() + " of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized void saveStatus(String studyId, String status, String detail) {
    on(() -> {
      try (PreparedStatement ps = conn.prepareStatement("UPDATE studies SET status = ?, status_detail = ? WHERE study_id = ?")) {
        ps.setString(1, status);
        ps.setString(2, detail);
        ps.setString(3, studyId);
        ps.executeUpdate();
        conn.commit();
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot record status of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized Optional<ModelArtifact> model(String studyId, long version) {
    return on(() -> {
      try (PreparedStatement ps = conn.prepareStatement("SELECT artifact FROM models WHERE study_id = ? AND version = ?")) {
        ps.setString(1, studyId);
        ps.setLong(2, version);
        try (ResultSet rs = ps.executeQuery()) {
          Optional<ModelArtifact> m = rs.next() ? Optional.of(ModelArtifact.parseFrom(rs.getBytes(1))) : Optional.empty();
          conn.commit();
          return m;
        }
      } catch (SQLException | InvalidProtocolBufferException e) {
        rollback();
        throw new StoreException("cannot read model " + version + " of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized boolean recordSpend(String studyId, LedgerRecord spend, String status, String reason) {
    return on(() -> {
      try {
        boolean added = appendIfAbsent(studyId, spend);
        // a spend already on record keeps its outcome; only one still in flight ("received") gets the new one
        if (added || "received".equals(currentStatus(studyId, spend.partyId(), spend.spend().getRoundId()))) {
          setStatus(studyId, spend.partyId(), spend.spend().getRoundId(), status, reason);
        }
        conn.commit();
        return added;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot record the privacy spend of " + spend.partyId() + " for round " + spend.spend().getRound()
            + " of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  /** Chains {@code r} after the study's last entry unless (party, round id) is already there; true when added. */
  private boolean appendIfAbsent(String studyId, LedgerRecord r) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement("SELECT spend FROM ledger WHERE study_id = ? AND party_id = ? AND round_id = ?")) {
      ps.setString(1, studyId);
      ps.setString(2, r.partyId());
      ps.setString(3, r.spend().getRoundId());
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          if (!java.util.Arrays.equals(rs.getBytes(1), r.spendBytes())) {
            log.warn("study {}: {} signed a second, different spend for round {}; the first is kept in the ledger",
                studyId, r.partyId(), r.spend().getRound());
          }
          return false;
        }
      }
    }
    long seq = 0;
    byte[] prev = LedgerChain.GENESIS;
    try (PreparedStatement ps = conn.prepareStatement("SELECT seq, hash FROM ledger WHERE study_id = ? ORDER BY seq DESC LIMIT 1")) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          seq = rs.getLong(1);
          prev = rs.getBytes(2);
        }
      }
    }
    try (PreparedStatement ps = conn.prepareStatement("INSERT INTO ledger VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
      byte[] hash = LedgerChain.link(prev, r.spendBytes(), r.signature());
      ps.setString(1, studyId);
      ps.setLong(2, seq + 1);
      ps.setString(3, r.partyId());
      ps.setInt(4, r.spend().getRound());
      ps.setString(5, r.spend().getRoundId());
      ps.setBytes(6, r.spendBytes());
      ps.setBytes(7, r.signature());
      ps.setBytes(8, r.signerCertificate());
      ps.setBytes(9, prev);
      ps.setBytes(10, hash);
      ps.executeUpdate();
    }
    return true;
  }

  private String currentStatus(String studyId, String party, String roundId) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement("SELECT status FROM spend_status WHERE study_id = ? AND party_id = ? AND round_id = ?")) {
      ps.setString(1, studyId);
      ps.setString(2, party);
      ps.setString(3, roundId);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? rs.getString(1) : null;
      }
    }
  }

  private void setStatus(String studyId, String party, String roundId, String status, String reason) throws SQLException {
    try (PreparedStatement del = conn.prepareStatement("DELETE FROM spend_status WHERE study_id = ? AND party_id = ? AND round_id = ?");
         PreparedStatement ins = conn.prepareStatement("INSERT INTO spend_status VALUES (?, ?, ?, ?, ?, ?)")) {
      del.setString(1, studyId);
      del.setString(2, party);
      del.setString(3, roundId);
      del.executeUpdate();
      ins.setString(1, studyId);
      ins.setString(2, party);
      ins.setString(3, roundId);
      ins.setString(4, status);
      ins.setString(5, reason == null ? "" : reason);
      ins.setLong(6, System.currentTimeMillis());
      ins.executeUpdate();
    }
  }

  private void writeCheckpoint(String studyId, int rounds) throws SQLException {
    long entries = 0;
    byte[] head = LedgerChain.GENESIS;
    try (PreparedStatement ps = conn.prepareStatement("SELECT seq, hash FROM ledger WHERE study_id = ? ORDER BY seq DESC LIMIT 1")) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          entries = rs.getLong(1);
          head = rs.getBytes(2);
        }
      }
    }
    byte[] cp = org.cloister.protocol.v1.LedgerCheckpoint.newBuilder().setStudyId(studyId).setEntries(entries)
        .setHeadHash(com.google.protobuf.ByteString.copyFrom(head)).setRounds(rounds).setTimestampMs(System.currentTimeMillis())
        .build().toByteArray();
    byte[] sig = org.cloister.trust.ledger.SpendSignatures.sign(cp, checkpointSigner.key());
    try (PreparedStatement ps = conn.prepareStatement("INSERT INTO ledger_checkpoints VALUES (?, ?, ?, ?, ?)")) {
      ps.setString(1, studyId);
      ps.setInt(2, rounds);
      ps.setBytes(3, cp);
      ps.setBytes(4, sig);
      ps.setBytes(5, checkpointSigner.certificate().getEncoded());
      ps.executeUpdate();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new SQLException("cannot encode the checkpoint signer's certificate", e);
    }
  }

  @Override
  public synchronized int closeInFlightSpends(String studyId, String reason) {
    return on(() -> {
      try (PreparedStatement ps = conn.prepareStatement("UPDATE spend_status SET status = 'rejected', reason = ?, updated_ms = ?"
          + " WHERE study_id = ? AND status = 'received'")) {
        ps.setString(1, reason);
        ps.setLong(2, System.currentTimeMillis());
        ps.setString(3, studyId);
        int n = ps.executeUpdate();
        conn.commit();
        return n;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot update the spend statuses of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized Map<String, SpendStatus> spendStatuses(String studyId) {
    return on(() -> {
      Map<String, SpendStatus> out = new TreeMap<>();
      try (PreparedStatement ps = conn.prepareStatement("SELECT party_id, round_id, status, reason FROM spend_status WHERE study_id = ?")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.put(rs.getString(1) + "/" + rs.getString(2), new SpendStatus(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4)));
          }
        }
        conn.commit();
        return out;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot read the spend statuses of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized List<Checkpoint> checkpoints(String studyId) {
    return on(() -> {
      List<Checkpoint> out = new ArrayList<>();
      try (PreparedStatement ps = conn.prepareStatement("SELECT rounds, checkpoint, signature, signer_cert FROM ledger_checkpoints"
          + " WHERE study_id = ? ORDER BY rounds")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new Checkpoint(rs.getInt(1), rs.getBytes(2), rs.getBytes(3), rs.getBytes(4)));
          }
        }
        conn.commit();
        return out;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot read the ledger checkpoints of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized List<RoundResult> rounds(String studyId) {
    return on(() -> {
      try {
        List<RoundResult> r = loadRounds(studyId);
        conn.commit();
        return r;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot read the rounds of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized List<StoredReceipt> receipts(String studyId) {
    return on(() -> {
      List<StoredReceipt> out = new ArrayList<>();
      try (PreparedStatement ps = conn.prepareStatement("SELECT round, round_id, model_version, receipt FROM receipts"
          + " WHERE study_id = ? ORDER BY seq")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new StoredReceipt(rs.getInt(1), rs.getString(2), rs.getLong(3), rs.getBytes(4)));
          }
        }
        conn.commit();
        return out;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot read the receipts of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized List<LedgerEntry> ledger(String studyId) {
    return on(() -> {
      List<LedgerEntry> out = new ArrayList<>();
      try (PreparedStatement ps = conn.prepareStatement("SELECT seq, party_id, round, round_id, spend, signature, signer_cert,"
          + " prev_hash, hash FROM ledger WHERE study_id = ? ORDER BY seq")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            out.add(new LedgerEntry(rs.getLong(1), rs.getString(2), rs.getInt(3), rs.getString(4), rs.getBytes(5),
                rs.getBytes(6), rs.getBytes(7), rs.getBytes(8), rs.getBytes(9)));
          }
        }
        conn.commit();
        return out;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot read the ledger of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  /** The study's recorded status and detail ("finished: 3 rounds completed"), or empty when unknown. */
  public synchronized String studyStatus(String studyId) {
    return on(() -> {
      try (PreparedStatement ps = conn.prepareStatement("SELECT status, status_detail FROM studies WHERE study_id = ?")) {
        ps.setString(1, studyId);
        try (ResultSet rs = ps.executeQuery()) {
          String st = rs.next() ? rs.getString(1) + (rs.getString(2).isEmpty() ? "" : ": " + rs.getString(2)) : "";
          conn.commit();
          return st;
        }
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot read the status of " + studyId + ": " + e.getMessage(), e);
      }
    });
  }

  @Override
  public synchronized List<String> studies() {
    return on(() -> {
      List<String> out = new ArrayList<>();
      try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SELECT study_id FROM studies ORDER BY created_ms")) {
        while (rs.next()) {
          out.add(rs.getString(1));
        }
        conn.commit();
        return out;
      } catch (SQLException e) {
        rollback();
        throw new StoreException("cannot list studies: " + e.getMessage(), e);
      }
    });
  }

  private void insertModel(String studyId, ModelArtifact m) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement("INSERT INTO models VALUES (?, ?, ?)")) {
      ps.setString(1, studyId);
      ps.setLong(2, m.getVersion());
      ps.setBytes(3, m.toByteArray());
      ps.executeUpdate();
    }
  }

  private List<RoundResult> loadRounds(String studyId) throws SQLException {
    List<RoundResult> out = new ArrayList<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT result_json FROM rounds WHERE study_id = ? ORDER BY seq")) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(json.readValue(rs.getString(1), RoundResult.class));
        }
      }
    } catch (JsonProcessingException e) {
      throw new StoreException("corrupt round record: " + e.getOriginalMessage(), e);
    }
    return out;
  }

  private Map<String, Long> loadSites(String studyId) throws SQLException {
    Map<String, Long> out = new TreeMap<>();
    try (PreparedStatement ps = conn.prepareStatement("SELECT site_id, num_examples FROM sites WHERE study_id = ?")) {
      ps.setString(1, studyId);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.put(rs.getString(1), rs.getLong(2));
        }
      }
    }
    return out;
  }

  private void rollback() {
    try {
      conn.rollback();
    } catch (SQLException ignored) {
      // the original error is what matters
    }
  }

  @Override
  public synchronized void close() {
    db.close();
  }
}
