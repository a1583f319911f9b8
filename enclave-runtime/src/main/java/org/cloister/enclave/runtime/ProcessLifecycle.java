package org.cloister.enclave.runtime;

import io.grpc.Server;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/** How an enclave process serves until it is stopped (a signal, or the host closing its standard input). */
public final class ProcessLifecycle {
  private ProcessLifecycle() {
  }

  /**
   * Blocks until {@code server} terminates. On JVM shutdown the server stops (5 s grace), then
   * {@code afterStop} is closed (may be null). With {@code exitWithParent} the process also exits
   * when its standard input closes.
   */
  public static void serveUntilStopped(Server server, boolean exitWithParent, Closeable afterStop) {
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      server.shutdown();
      try {
        server.awaitTermination(5, TimeUnit.SECONDS);
        if (afterStop != null) {
          afterStop.close();
        }
      } catch (InterruptedException ignored) {
        Thread.currentThread().interrupt();
      } catch (IOException ignored) {
        // nothing more to do while stopping
      }
    }, "enclave-shutdown"));
    if (exitWithParent) {
      ParentWatch.exitWhenClosed(System.in);
    }
    try {
      server.awaitTermination();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
