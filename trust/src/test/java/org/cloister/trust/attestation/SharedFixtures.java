package org.cloister.trust.attestation;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The real attestation cases kept outside the project in {@code ../shared/fixtures/} (CI has {@code shared}
 * beside the clone; a git worktree may sit deeper, so every ancestor of the module directory is tried).
 * Material from public repositories is never committed here. Tests skip with a clear message when absent.
 */
public final class SharedFixtures {
  private SharedFixtures() {}

  /** The fixtures folder, or empty when it is nowhere above the working directory. */
  public static java.util.Optional<Path> root() {
    String override = System.getenv("CLOISTER_SHARED_FIXTURES");
    if (override != null && !override.isBlank()) {
      return java.util.Optional.of(Path.of(override));
    }
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      Path candidate = d.resolve("shared").resolve("fixtures");
      if (Files.isRegularFile(candidate.resolve("README-attestation.md"))) {
        return java.util.Optional.of(candidate);
      }
    }
    return java.util.Optional.empty();
  }

  /** The fixtures folder; skips the test (assumption) when it is absent. */
  public static Path require() {
    java.util.Optional<Path> root = root();
    assumeTrue(root.isPresent(), "../shared/fixtures (the real attestation cases) not found above "
        + Path.of("").toAbsolutePath() + "; set CLOISTER_SHARED_FIXTURES to run these tests");
    return root.get();
  }

  /** Case folders of {@code platformDir} ("snp", "tdx"), or none when the fixtures are absent. */
  public static List<Path> cases(String platformDir) {
    java.util.Optional<Path> root = root();
    if (root.isEmpty()) {
      return List.of();
    }
    try (Stream<Path> s = Files.list(root.get().resolve(platformDir))) {
      return s.filter(p -> Files.isRegularFile(p.resolve("case.json"))).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static JsonNode caseJson(Path caseDir) {
    try {
      return new ObjectMapper().readTree(caseDir.resolve("case.json").toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static byte[] evidence(Path caseDir) {
    try {
      return Files.readAllBytes(caseDir.resolve("evidence.bin"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static Collateral collateral(Path caseDir) {
    try {
      return Collateral.readDirectory(caseDir.resolve("collateral"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
