package org.cloister.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder replaced by the demo study wiring (work in progress on main). */
@Command(name = "demo", description = "Run the demo study.")
final class DemoCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("demo: not wired yet");
    return 1;
  }
}
