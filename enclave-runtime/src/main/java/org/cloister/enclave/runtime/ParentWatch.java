package org.cloister.enclave.runtime;

import java.io.IOException;
import java.io.InputStream;

/** An enclave process started by a host exits when the host closes its standard input (or dies). */
public final class ParentWatch {
  private ParentWatch() {
  }

  /** Starts a daemon thread that reads {@code in} to its end, then exits the JVM with status 0. */
  public static void exitWhenClosed(InputStream in) {
    Thread t = new Thread(() -> {
      try {
        while (in.read() >= 0) {
          // ignore input
        }
      } catch (IOException ignored) {
        // treat as closed
      }
      System.exit(0);
    }, "parent-watch");
    t.setDaemon(true);
    t.start();
  }
}
