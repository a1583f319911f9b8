package org.cloister.coordinator.store;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The store contract on SQLite, the embedded default. */
class SqliteStudyStoreTest extends StudyStoreContract {
  @TempDir
  Path dir;
  private final AtomicInteger n = new AtomicInteger();

  @Override
  String newDatabaseUrl() {
    return "jdbc:sqlite:" + dir.resolve("coordinator-" + n.incrementAndGet() + ".db");
  }

  @Test
  void aDatabaseUrlOfAnotherKindIsRefusedByName() {
    assertThatThrownBy(() -> new JdbcStudyStore("jdbc:mysql://db/cloister?user=c&password=secret"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unsupported coordinator database URL jdbc:mysql://db/cloister?user=c&password=***")
        .hasMessageContaining("jdbc:sqlite:").hasMessageContaining("jdbc:postgresql:")
        .message().doesNotContain("secret");
  }
}
