package org.cloister.cli.processes;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.cloister.cli.CloisterCommand;

/** Starts {@code cloister ARGS} as a separate JVM on this JVM's class path, its output into a log file. */
public final class CloisterProcess {
  private CloisterProcess() {
  }

  /** Starts {@code cloister args...} with at most 1 GiB of heap and warnings-only logging. */
  public static Process start(Path log, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
        CloisterCommand.class.getName()));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }
}
