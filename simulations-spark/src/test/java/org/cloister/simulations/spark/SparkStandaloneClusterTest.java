package org.cloister.simulations.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.cloister.simulations.DpSettings;
import org.cloister.simulations.RoundReport;
import org.cloister.simulations.SimulationConfig;
import org.cloister.simulations.SimulationResult;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark engine on a real standalone cluster: a Spark master and two workers, each its own JVM
 * started from the jars on this test's class path ({@code org.apache.spark.deploy.master.Master},
 * {@code org.apache.spark.deploy.worker.Worker}) on loopback; the workers launch executor JVMs as a
 * cluster does. No Spark distribution is needed: a worker builds an executor's command from
 * {@code SPARK_HOME/jars} (here an empty directory) plus {@code spark.executor.extraClassPath} (this
 * test's class path), and {@code SPARK_SCALA_VERSION} stands in for a distribution's build layout.
 * The study must agree with {@code local[2]}: same sites, spends and figures to float rounding.
 */
@Tag("slow")
class SparkStandaloneClusterTest {
  private static final String OPENS = "-XX:+IgnoreUnrecognizedVMOptions --add-modules=jdk.incubator.vector"
      + " --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED"
      + " --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED"
      + " --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED"
      + " --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED"
      + " --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED"
      + " --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED"
      + " --add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED"
      + " -Djdk.reflect.useDirectMethodHandle=false -Dio.netty.tryReflectionSetAccessible=true";
  private static final String[] PROPERTIES = {"spark.executor.extraClassPath", "spark.executor.extraJavaOptions",
      "spark.driver.host", "spark.driver.bindAddress", "spark.executor.memory", "spark.cores.max"};

  private final List<Process> cluster = new ArrayList<>();

  private static SimulationConfig study(int sites, Path out) {
    return SimulationConfig.builder().studyId("spark-cluster").dataset("builtin:wdbc").sites(sites)
        .partition("iid").rounds(3).localEpochs(1).seed(11).minSitesPerRound(sites - 1)
        .dp(DpSettings.budget(2.0, 1e-5, 1.0)).outDir(out).build();
  }

  @Test
  @Timeout(1200) // a safety net only: nothing in the test waits on the clock
  void aTwoWorkerStandaloneClusterGivesTheSameStudyAsLocal2(@TempDir Path dir) throws Exception {
    Path home = Files.createDirectories(dir.resolve("spark-home/jars"));
    int port = freePort();
    String master = "spark://127.0.0.1:" + port;
    start(dir, "master", home.getParent(), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
        String.valueOf(port), "--webui-port", String.valueOf(freePort()));
    awaitListening(port, cluster.get(0), dir.resolve("master.log"));
    for (int w = 1; w <= 2; w++) {
      start(dir, "worker-" + w, home.getParent(), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
          "--cores", "1", "--memory", "2g", "--webui-port", String.valueOf(freePort()),
          "--work-dir", Files.createDirectories(dir.resolve("work-" + w)).toString(), master);
    }
    System.setProperty("spark.executor.extraClassPath", System.getProperty("java.class.path"));
    System.setProperty("spark.executor.extraJavaOptions", OPENS + " -Dorg.bytedeco.javacpp.maxbytes=2G"
        + " -Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
    System.setProperty("spark.executor.memory", "1g");
    System.setProperty("spark.cores.max", "2");
    System.setProperty("spark.driver.host", "127.0.0.1");
    System.setProperty("spark.driver.bindAddress", "127.0.0.1");

    SimulationConfig clusterCfg = study(4, dir.resolve("cluster"));
    SimulationResult onCluster = new SparkSimulation(master, 2).run(clusterCfg, r -> { });
    SimulationConfig localCfg = study(4, dir.resolve("local"));
    for (String p : PROPERTIES) {
      System.clearProperty(p);
    }
    SimulationResult local = new SparkSimulation("local[2]", 2).run(localCfg, r -> { });

    assertThat(onCluster.status()).startsWith("finished").isEqualTo(local.status());
    assertThat(onCluster.rounds()).hasSize(3);
    for (int i = 0; i < 3; i++) {
      RoundReport a = local.rounds().get(i);
      RoundReport b = onCluster.rounds().get(i);
      assertThat(b.sites()).containsExactlyInAnyOrderElementsOf(a.sites());
      assertThat(b.loss()).as("round %d test loss", a.round()).isCloseTo(a.loss(), within(1e-5));
      assertThat(b.siteEpsilon()).isEqualTo(a.siteEpsilon());
    }
    assertThat(onCluster.sites()).isEqualTo(local.sites());
    assertThat(onCluster.finalMetrics().logLoss()).isCloseTo(local.finalMetrics().logLoss(), within(1e-5));
    // the executors were the workers' processes, not this JVM
    assertThat(Files.list(dir.resolve("work-1")).count() + Files.list(dir.resolve("work-2")).count())
        .as("application directories the workers created for their executors").isGreaterThanOrEqualTo(1);
  }

  private void start(Path dir, String name, Path sparkHome, String main, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xmx512m");
    cmd.addAll(List.of(OPENS.split(" ")));
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(main);
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve(name + ".log").toFile());
    pb.environment().put("SPARK_HOME", sparkHome.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    cluster.add(pb.start());
  }

  /** Until the master accepts connections (it may start slowly on a loaded machine); fails if it exits. */
  private static void awaitListening(int port, Process master, Path log) throws Exception {
    while (true) {
      if (!master.isAlive()) {
        throw new IllegalStateException("the Spark master exited: " + Files.readString(log));
      }
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 1000);
        return;
      } catch (IOException notYet) {
        Thread.onSpinWait();
        master.waitFor(200, java.util.concurrent.TimeUnit.MILLISECONDS);
      }
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @AfterEach
  void stopCluster() {
    for (String p : PROPERTIES) {
      System.clearProperty(p);
    }
    for (int i = cluster.size() - 1; i >= 0; i--) {
      cluster.get(i).descendants().forEach(ProcessHandle::destroy);
      cluster.get(i).destroy();
    }
  }
}
