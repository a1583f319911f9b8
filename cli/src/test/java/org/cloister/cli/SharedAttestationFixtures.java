package org.cloister.cli;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The real attestation cases in {@code ../shared/fixtures/} beside the clone (or above a deeper git worktree);
 * {@code CLOISTER_SHARED_FIXTURES} overrides. Tests skip with a clear message when they are absent.
 */
final class SharedAttestationFixtures {
  private SharedAttestationFixtures() {}

  static Optional<Path> root() {
    String override = System.getenv("CLOISTER_SHARED_FIXTURES");
    if (override != null && !override.isBlank()) {
      return Optional.of(Path.of(override));
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path candidate = d.resolve("shared").resolve("fixtures");
      if (Files.isRegularFile(candidate.resolve("README-attestation.md"))) {
        return Optional.of(candidate);
      }
    }
    return Optional.empty();
  }

  static Path require() {
    Optional<Path> root = root();
    assumeTrue(root.isPresent(), "../shared/fixtures (the real attestation cases) not found above "
        + Path.of("").toAbsolutePath() + "; set CLOISTER_SHARED_FIXTURES to run these tests");
    return root.get();
  }
}
