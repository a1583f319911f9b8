package org.cloister.coordinator.store;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Made {@code src/test/resources/store/coordinator-before-migrations.db} with the coordinator of
 * commit a9a6ca4 (the schema created by {@code CREATE TABLE IF NOT EXISTS}, before Flyway), so that
 * {@link SqliteUpgradeTest} upgrades a file written by that code, not by a re-creation of it.
 * Kept for the record: running it now would write the current schema.
 */
final class LegacyDatabaseMaker {
  private LegacyDatabaseMaker() {
  }

  public static void main(String[] args) throws Exception {
    Path out = Path.of(args[0]);
    Files.deleteIfExists(out);
    StoreScenario sc = new StoreScenario();
    try (JdbcStudyStore store = new JdbcStudyStore("jdbc:sqlite:" + out, sc.checkpointSigner())) {
      sc.populate(store);
    }
    // the consortium CA certificate, to verify the checkpoints and spends after the upgrade
    Files.write(Path.of(args[1]), sc.ca.certificate().getEncoded());
  }
}
