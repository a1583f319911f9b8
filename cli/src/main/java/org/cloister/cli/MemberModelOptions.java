package org.cloister.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options of {@code model export} and {@code model evaluate}: the member's kit and the coordinator's published models. */
final class MemberModelOptions {
  @Option(names = "--kit", paramLabel = "DIR", required = true,
      description = "This member's kit (a site's or an observer's folder from `cloister provision`).")
  Path kit;

  @Option(names = "--database", paramLabel = "JDBC_URL_OR_FILE", required = true,
      description = "The coordinator's database: the published (encrypted) models and the enclave's signed receipts.")
  String database;

  @Option(names = "--sealed-models", paramLabel = "DIR", required = true,
      description = "The coordinator's sealed-models folder (each version's copies sealed to each member).")
  Path sealedModels;
}
