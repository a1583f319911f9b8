package org.cloister.consortium.inference;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The mark of a simulation's outputs. Simulations draw their DP noise from seeded generators
 * (reproducible, and a 64-bit seed can be guessed), so the models they produce carry <b>no</b>
 * privacy guarantee: a consortium directory written by a simulation holds a {@value #MARKER}
 * file, its {@code study.json} says {@code "simulation_only": true}, and {@code infer serve} and
 * the services refuse anything under such a directory unless given
 * {@code --allow-simulation-model}.
 */
public final class SimulationOnly {
  /** The marker file's name. */
  public static final String MARKER = "SIMULATION-ONLY";
  /** The flag that lets a command use a simulation's model anyway (demos, tests). */
  public static final String ALLOW_FLAG = "--allow-simulation-model";

  private SimulationOnly() {
  }

  /** Marks {@code directory} (and everything under it) as a simulation's output. */
  public static void mark(Path directory) throws IOException {
    Files.writeString(directory.resolve(MARKER),
        "This directory was written by a Cloister simulation. Its DP noise came from a seeded generator: the models\n"
            + "here carry no privacy guarantee and must not be served or deployed (refused unless " + ALLOW_FLAG + ").\n");
  }

  /** The marker governing {@code path}: in its directory or any ancestor, if there is one. */
  public static Optional<Path> find(Path path) {
    Path p = path.toAbsolutePath().normalize();
    if (!Files.isDirectory(p)) {
      p = p.getParent();
    }
    for (; p != null; p = p.getParent()) {
      Path m = p.resolve(MARKER);
      if (Files.isRegularFile(m)) {
        return Optional.of(m);
      }
    }
    return Optional.empty();
  }

  /** The refusal message for {@code what} governed by {@code marker}. */
  public static String refusal(String what, Path marker) {
    return what + " comes from a simulation (marked by " + marker + "): its noise was seeded, so it carries no "
        + "privacy guarantee; refusing it (pass " + ALLOW_FLAG + " to use it anyway, for demos and tests only)";
  }
}
