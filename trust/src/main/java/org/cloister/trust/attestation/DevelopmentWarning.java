package org.cloister.trust.attestation;

import java.io.PrintStream;
import java.util.Map;
import org.slf4j.Logger;

/**
 * The development-platform warning (a simulated attestation platform, a development or test-double root), once per
 * run: a process that has warned and launches children with the same development material (the coordinator, a
 * simulation or {@code infer serve} starting its key broker and enclave) sets {@value #ENV} in their environment, and a child then logs
 * its own banner at DEBUG instead of printing it. A service an operator starts alone has no such variable and warns.
 * The variable only moves where a warning is printed: what any party verifies does not depend on it.
 */
public final class DevelopmentWarning {
  /** Set to {@code 1} by a parent that has printed the development-platform warning for this run. */
  public static final String ENV = "CLOISTER_DEVELOPMENT_WARNED";

  private DevelopmentWarning() {
  }

  /** The environment a parent that has warned gives the children it launches. */
  public static Map<String, String> warnedEnvironment() {
    return Map.of(ENV, "1");
  }

  /**
   * The warning a parent prints once for its run: {@code subject} (e.g. "the secure aggregator") runs on a simulated
   * attestation platform whose development root is {@code root}.
   */
  public static String simulatedPlatform(String subject, Object root) {
    return "WARNING: " + subject + " runs on a SIMULATED attestation platform (development root " + root
        + "): it demonstrates the protocol, not isolation. Never use it with real patient data.";
  }

  /** Whether {@code env} (a process's environment) says its parent has warned for this run. */
  public static boolean parentWarned(Map<String, String> env) {
    return "1".equals(env.get(ENV));
  }

  /**
   * Prints {@code warning} on {@code err}, a banner whatever the logging configuration; or, when {@code env} says
   * the parent has warned for this run, logs it at DEBUG on {@code log}.
   */
  public static void banner(String warning, PrintStream err, Logger log, Map<String, String> env) {
    if (parentWarned(env)) {
      log.debug("{} (the parent process has warned for this run)", warning);
    } else {
      err.println(warning);
    }
  }
}
