package org.cloister.cli;

import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/** A {@code --database JDBC_URL_OR_FILE} option's value: a JDBC URL as given, or an existing SQLite file. */
final class CoordinatorDatabase {
  private CoordinatorDatabase() {
  }

  /**
   * The JDBC URL of {@code database}; a file that does not exist is a usage error (opening it would
   * create an empty database and report on nothing).
   */
  static String url(CommandLine cl, String database) {
    if (database.startsWith("jdbc:")) {
      return database;
    }
    if (!Files.exists(Path.of(database))) {
      throw new CommandLine.ParameterException(cl, "--database: no such file " + database);
    }
    return "jdbc:sqlite:" + database;
  }
}
