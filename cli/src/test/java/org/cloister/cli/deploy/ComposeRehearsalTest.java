package org.cloister.cli.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.cloister.cli.CloisterCommand;
import org.cloister.cli.DocSamples;
import org.cloister.coordinator.store.PostgresServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/compose run as docs/deployment.md tells a new user, without a Docker daemon (none on this
 * machine): {@code prepare-kits.sh} runs as written, its one {@code docker run} answered by a test
 * double of the Docker runtime that runs the same {@code cloister} command on this build's class path;
 * PostgreSQL is a real server (the zonky binaries) on the service's port 5432 with password
 * authentication, initialised as the {@code postgres} image initialises it from the compose file's
 * environment and secret; each Cloister service of docker-compose.yml is started as a process with
 * its {@code command}, {@code working_dir}, {@code environment} and {@code volumes} (container paths
 * mapped onto host folders), the service names resolving to loopback. The study must finish, on
 * PostgreSQL, and {@code ledger verify} must pass against every site's own ledger.
 *
 * <p>What this does not try: the Docker runtime itself (image pull and layers, uid 65532, the
 * read-only root filesystem, capabilities, restart policies, the compose network). Three sites on one
 * host share a network namespace, so their metrics ports (0.0.0.0:9465 in each container) are
 * set back to 127.0.0.1:0. The transcript goes to {@code cli/target/compose-rehearsal.txt}.
 */
@Tag("slow")
class ComposeRehearsalTest {
  private static final List<String> ORDER = List.of("broker", "coordinator", "site-1", "site-2", "site-3");
  private final List<Process> processes = new ArrayList<>();
  private final StringBuilder transcript = new StringBuilder();

  @AfterEach
  void stop() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  private static Path repoRoot() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("deploy/compose"))) {
        return d;
      }
    }
    throw new IllegalStateException("deploy/compose not found above " + Path.of("").toAbsolutePath());
  }

  private static String java() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private void note(String line) {
    transcript.append(line).append('\n');
    System.out.println(line);
  }

  /** Maps a container path onto the host folder mounted there (longest mount first), others unchanged. */
  private static String map(String value, Map<String, Path> mounts) {
    for (Map.Entry<String, Path> m : mounts.entrySet()) {
      String at = m.getKey();
      if (value.equals(at)) {
        return m.getValue().toString();
      }
      if (value.startsWith(at + "/")) {
        return m.getValue().resolve(value.substring(at.length() + 1)).toString();
      }
    }
    return value;
  }

  @Test
  @SuppressWarnings("unchecked")
  void theComposeConsortiumRunsAStudyToTheEndOnPostgresqlAsDocumented(@TempDir Path tmp) throws Exception {
    Path compose = tmp.resolve("compose");
    Files.createDirectories(compose);
    for (String f : List.of("consortium.yaml", "docker-compose.yml", "prepare-kits.sh")) {
      Files.copy(repoRoot().resolve("deploy/compose").resolve(f), compose.resolve(f));
    }
    // the test double of the Docker runtime: `docker run [--rm] [-v A:B] [-w DIR] [--user U] IMAGE ARGS...` -> cloister ARGS in $PWD
    Path bin = Files.createDirectories(tmp.resolve("bin"));
    Path docker = Files.writeString(bin.resolve("docker"), String.join("\n",
        "#!/usr/bin/env bash",
        "# TEST DOUBLE of the Docker runtime (no daemon on this machine): docker run ... IMAGE ARGS runs cloister ARGS here",
        "set -euo pipefail",
        "[ \"$1\" = run ] || { echo \"docker test double: only 'docker run' ($*)\" >&2; exit 2; }",
        "shift",
        "while [ $# -gt 0 ]; do case \"$1\" in --rm) shift;; -v|-w|--user|-e) shift 2;; -*) echo \"unknown option $1\" >&2; exit 2;; *) break;; esac; done",
        "echo \"[docker test double] image $1: cloister ${*:2}\" >&2",
        "shift",
        "exec \"$CLOISTER_JAVA\" -Xmx512m -cp \"$CLOISTER_CP\" " + CloisterCommand.class.getName() + " \"$@\"", ""));
    docker.toFile().setExecutable(true);

    // 1. ./prepare-kits.sh (docs/deployment.md, "A consortium with docker compose")
    ProcessBuilder prepare = new ProcessBuilder("bash", "prepare-kits.sh").directory(compose.toFile()).redirectErrorStream(true);
    prepare.environment().put("PATH", bin + ":" + System.getenv("PATH"));
    prepare.environment().put("CLOISTER_JAVA", java());
    prepare.environment().put("CLOISTER_CP", System.getProperty("java.class.path"));
    // the image holds its enclave image at /app; this build's is where the build put it
    prepare.environment().put("CLOISTER_ENCLAVE_IMAGE", System.getProperty("cloister.enclave.image", ""));
    Process p = prepare.start();
    String prepared = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
    note("$ ./prepare-kits.sh\n" + prepared.strip());
    assertThat(p.exitValue()).as(prepared).isZero();
    assertThat(prepared).contains("kits ready");
    Path kits = compose.resolve("kits");

    // 2. each site's own data (WDBC split in three, the label column named as the kit's data.label)
    List<String> rows;
    try (InputStream in = ComposeRehearsalTest.class.getResourceAsStream("/org/cloister/data/datasets/wdbc.csv")) {
      rows = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList();
    }
    String header = rows.get(0).replaceAll(",malignant$", ",label");
    for (int s = 0; s < 3; s++) {
      StringBuilder b = new StringBuilder(header).append('\n');
      for (int i = 1 + s; i < rows.size(); i += 3) {
        b.append(rows.get(i)).append('\n');
      }
      Files.writeString(kits.resolve("site-" + (s + 1) + "/data.csv"), b.toString());
      Path site = kits.resolve("site-" + (s + 1) + "/site.yaml");
      // one host, one network namespace: the containers' identical metrics ports would collide
      Files.writeString(site, Files.readString(site).replace("metrics: 0.0.0.0:9465", "metrics: 127.0.0.1:0"));
    }
    note("$ cp hospital-N.csv kits/site-N/data.csv   # N = 1, 2, 3 (WDBC split in three)");

    // 3. docker compose up: PostgreSQL as the postgres image initialises it, then the Cloister services
    Map<String, Object> file = new Yaml().load(Files.readString(compose.resolve("docker-compose.yml")));
    Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>) file.get("services");
    Map<String, Object> pgEnv = (Map<String, Object>) services.get("postgres").get("environment");
    Map<String, Object> secrets = (Map<String, Object>) file.get("secrets");
    String dbPassword = Files.readString(compose.resolve((String) ((Map<String, Object>) secrets.get("db-password")).get("file")));
    try (PostgresServer pg = PostgresServer.start(5432, "rehearsal-superuser")) {
      try (Connection c = DriverManager.getConnection(pg.url("postgres")); Statement st = c.createStatement()) {
        st.execute("CREATE ROLE " + pgEnv.get("POSTGRES_USER") + " LOGIN PASSWORD '" + dbPassword + "'");
        st.execute("CREATE DATABASE " + pgEnv.get("POSTGRES_DB") + " OWNER " + pgEnv.get("POSTGRES_USER"));
      }
      note("postgres: PostgreSQL 14 (zonky binaries) on 127.0.0.1:5432, database " + pgEnv.get("POSTGRES_DB") + ", user "
          + pgEnv.get("POSTGRES_USER") + " with the db-password secret (scram-sha-256)");
      Path hosts = Files.writeString(tmp.resolve("hosts"), "127.0.0.1 localhost " + String.join(" ", services.keySet()) + "\n");
      Path coordinatorLog = null;
      for (String name : ORDER) {
        Map<String, Object> svc = services.get(name);
        assertThat(svc).as("service %s", name).isNotNull();
        // mounts: the service's volumes, then the image's own volumes and working directory (/state, /tmp)
        Map<String, Path> mounts = new LinkedHashMap<>();
        for (Object v : (List<Object>) svc.getOrDefault("volumes", List.of())) {
          String[] parts = String.valueOf(v).split(":");
          Path host = parts[0].startsWith(".") ? compose.resolve(parts[0]).normalize() : tmp.resolve("volumes/" + parts[0]);
          Files.createDirectories(host);
          mounts.put(parts[1], host);
        }
        for (String anon : List.of("/state", "/tmp")) {
          if (!mounts.containsKey(anon)) {
            mounts.put(anon, Files.createDirectories(tmp.resolve("anon/" + name + anon)));
          }
        }
        Path workDir = Path.of(map(String.valueOf(svc.getOrDefault("working_dir", "/state")), mounts));
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx768m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info",
            "-cp", System.getProperty("java.class.path"), CloisterCommand.class.getName()));
        for (Object a : (List<Object>) svc.get("command")) {
          cmd.add(map(String.valueOf(a), mounts));
        }
        ProcessBuilder b = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true);
        b.environment().put("HOME", map("/tmp", mounts));
        // the compose network's names, and the image's JVM flag, for this JVM and the ones it starts (the enclave)
        b.environment().put("JAVA_TOOL_OPTIONS", "-Djdk.net.hosts.file=" + hosts + " -Dorg.bytedeco.javacpp.cachedir="
            + map("/tmp/javacpp", mounts));
        ((Map<String, Object>) svc.getOrDefault("environment", Map.of())).forEach((k, v) -> b.environment().put(k, map(String.valueOf(v), mounts)));
        Path log = tmp.resolve(name + ".log");
        b.redirectOutput(log.toFile());
        processes.add(b.start());
        note("started " + name + ": cloister " + String.join(" ", ((List<Object>) svc.get("command")).stream().map(String::valueOf).toList()));
        if (name.equals("broker")) {
          assertThat(awaitLine(log, org.cloister.broker.KeyBrokerMain.READY, 300)).as(lastLines(log)).isTrue();
        } else if (name.equals("coordinator")) {
          coordinatorLog = log;
          assertThat(awaitLine(log, "coordinator: study", 600)).as(lastLines(log)).isTrue();
        }
      }
      // 4. docker compose logs -f coordinator, until the study ends (a safety bound, not a timing assertion)
      boolean finished = awaitLine(coordinatorLog, "finished: ", 1800);
      note("$ docker compose logs coordinator   # its last lines\n" + lastLines(coordinatorLog).replace(" | ", "\n"));
      assertThat(finished).as(lastLines(coordinatorLog)).isTrue();

      // 5. the study's state is in PostgreSQL, and the ledger verifies against each site's own
      String dbUrl = "jdbc:postgresql://127.0.0.1:5432/" + pgEnv.get("POSTGRES_DB") + "?user=" + pgEnv.get("POSTGRES_USER")
          + "&password=" + dbPassword;
      String status;
      long rounds;
      try (Connection c = DriverManager.getConnection(dbUrl); Statement st = c.createStatement()) {
        try (ResultSet rs = st.executeQuery("SELECT status, status_detail FROM studies")) {
          assertThat(rs.next()).isTrue();
          status = rs.getString(1) + ": " + rs.getString(2);
        }
        try (ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM rounds WHERE quorum_met = 1")) {
          rs.next();
          rounds = rs.getLong(1);
        }
      }
      note("PostgreSQL: study " + status + "; rounds aggregated " + rounds);
      assertThat(status).startsWith("finished");
      assertThat(rounds).isPositive();
      Path verifyLog = tmp.resolve("verify.log");
      List<String> verify = new ArrayList<>(List.of("ledger", "verify", "--database", dbUrl, "--trust-root",
          kits.resolve("ca/ca.crt").toString()));
      for (int s = 1; s <= 3; s++) {
        verify.addAll(List.of("--site-ledger", kits.resolve("site-" + s + "/state/site-ledger.db").toString()));
      }
      Process v = org.cloister.cli.processes.CloisterProcess.start(verifyLog, verify.toArray(String[]::new));
      assertThat(v.waitFor(10, TimeUnit.MINUTES)).isTrue();
      String verified = Files.readString(verifyLog).replace(dbPassword, "***");
      note("$ cloister ledger verify --database jdbc:postgresql://postgres:5432/cloister --trust-root kits/ca/ca.crt "
          + "--site-ledger kits/site-{1,2,3}/state/site-ledger.db\n" + verified.strip());
      assertThat(v.exitValue()).as(verified).isZero();
    } finally {
      Files.writeString(Path.of("target/compose-rehearsal.txt"), transcript.toString());
    }
    // the sample in docs/deployment.md is this transcript (the updates of a round arrive in any order)
    DocSamples.checkProcessSamples("compose-rehearsal", DocSamples.replacements(compose + "/", ""),
        t -> t.replaceAll("update from site-\\d+ accepted \\(\\d+ of", "update from site-N accepted (N of"));
  }

  private static boolean awaitLine(Path log, String fragment, int seconds) throws Exception {
    for (int i = 0; i < seconds * 5; i++) {
      if (Files.exists(log) && Files.readString(log, StandardCharsets.UTF_8).contains(fragment)) {
        return true;
      }
      Thread.sleep(200);
    }
    return false;
  }

  private static String lastLines(Path log) throws IOException {
    List<String> lines = Files.exists(log) ? Files.readAllLines(log, StandardCharsets.UTF_8) : List.of();
    return String.join(" | ", lines.subList(Math.max(0, lines.size() - 8), lines.size()));
  }
}
