package org.cloister.coordinator.store;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The coordinator's database: a HikariCP pool over SQLite (the embedded default) or a PostgreSQL
 * server, its schema brought to the current version by Flyway on opening. A database made before
 * migrations existed (no schema history) is baselined at version 0 and migration 1, the schema of
 * that code with {@code IF NOT EXISTS}, leaves its data in place.
 */
public final class StoreDatabase implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StoreDatabase.class);

  /** The database servers the store runs on. */
  public enum Vendor {
    SQLITE("jdbc:sqlite:", "sqlite"),
    POSTGRESQL("jdbc:postgresql:", "postgresql");

    private final String urlPrefix;
    private final String migrations;

    Vendor(String urlPrefix, String migrations) {
      this.urlPrefix = urlPrefix;
      this.migrations = migrations;
    }

    /** The vendor of a JDBC URL; anything else is refused with the URLs that are accepted. */
    public static Vendor of(String jdbcUrl) {
      for (Vendor v : values()) {
        if (jdbcUrl != null && jdbcUrl.startsWith(v.urlPrefix)) {
          return v;
        }
      }
      throw new IllegalArgumentException("unsupported coordinator database URL " + (jdbcUrl == null ? "null" : redact(jdbcUrl))
          + ": use jdbc:sqlite:<file> or jdbc:postgresql://<host>:<port>/<database>");
    }
  }

  private final HikariDataSource pool;
  private final Vendor vendor;
  private final int schemaVersion;

  private StoreDatabase(HikariDataSource pool, Vendor vendor, int schemaVersion) {
    this.pool = pool;
    this.vendor = vendor;
    this.schemaVersion = schemaVersion;
  }

  /**
   * Opens the pool and migrates the schema. SQLite gets one connection in WAL mode with
   * {@code synchronous=FULL} (a committed round survives {@code kill -9} and power loss) and
   * foreign keys on; PostgreSQL a small pool (its default isolation, read committed, with this
   * process the only writer of the study). Credentials belong in the URL's {@code user} and
   * {@code password} parameters, or in the PostgreSQL driver's {@code ~/.pgpass}; they are never logged.
   */
  public static StoreDatabase open(String jdbcUrl) {
    Vendor vendor = Vendor.of(jdbcUrl);
    HikariConfig cfg = new HikariConfig();
    cfg.setJdbcUrl(jdbcUrl);
    cfg.setPoolName("cloister-store");
    cfg.setAutoCommit(false);
    cfg.setInitializationFailTimeout(1);
    if (vendor == Vendor.SQLITE) {
      cfg.setMaximumPoolSize(1);
      cfg.setMaxLifetime(0); // one connection kept for the store's life (a jdbc:sqlite::memory: database lives in it)
      cfg.addDataSourceProperty("journal_mode", "WAL");
      cfg.addDataSourceProperty("synchronous", "FULL");
      cfg.addDataSourceProperty("foreign_keys", "true");
      cfg.addDataSourceProperty("busy_timeout", "5000");
    } else {
      cfg.setMaximumPoolSize(2);
      cfg.setConnectionTimeout(10_000);
    }
    HikariDataSource pool;
    try {
      pool = new HikariDataSource(cfg);
    } catch (RuntimeException e) {
      throw new StoreException("cannot open coordinator database " + redact(jdbcUrl) + ": " + rootMessage(e), e);
    }
    try {
      Flyway flyway = Flyway.configure()
          .dataSource(pool)
          .locations("classpath:db/migration/" + vendor.migrations)
          .baselineOnMigrate(true)
          .baselineVersion("0")
          .baselineDescription("schema created before migrations")
          .load();
      MigrateResult r = flyway.migrate();
      var current = flyway.info().current();
      int version = current == null || current.getVersion() == null ? 0 : Integer.parseInt(current.getVersion().getVersion());
      if (r.migrationsExecuted > 0) {
        log.info("coordinator database migrated to schema version {} ({} migration(s))", version, r.migrationsExecuted);
      }
      return new StoreDatabase(pool, vendor, version);
    } catch (RuntimeException e) {
      pool.close();
      throw new StoreException("cannot migrate coordinator database " + redact(jdbcUrl) + ": " + rootMessage(e), e);
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t == e ? String.valueOf(e.getMessage()) : e.getMessage() + " (" + t.getMessage() + ")";
  }

  /** Hides credentials that a PostgreSQL URL may carry. */
  static String redact(String url) {
    return url.replaceAll("(?i)(password=)[^&;]*", "$1***");
  }

  /** A pooled connection with auto-commit off; the caller commits or rolls back, and closes it. */
  Connection connection() throws SQLException {
    return pool.getConnection();
  }

  public Vendor vendor() {
    return vendor;
  }

  /** The schema version after opening (1 today). */
  public int schemaVersion() {
    return schemaVersion;
  }

  @Override
  public void close() {
    pool.close();
  }
}
