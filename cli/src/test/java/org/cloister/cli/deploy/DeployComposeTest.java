package org.cloister.cli.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.cli.provision.ConsortiumSpec;
import org.cloister.cli.provision.Provisioner;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/compose/docker-compose.yml matches the kits that {@code provision} writes from
 * deploy/compose/consortium.yaml: every party's kit is mounted by its service, every file a
 * command names is in the kit, the host names and ports the kits dial are the services', the
 * edits of prepare-kits.sh find the lines they edit, and every Cloister service runs as a non-root
 * user on a read-only filesystem without capabilities.
 */
class DeployComposeTest {
  private static final Path COMPOSE_DIR = repoRoot().resolve("deploy/compose");
  @TempDir
  static Path tmp;
  private static ConsortiumSpec spec;
  private static Path kits;
  private static Map<String, Map<String, Object>> services;

  private static Path repoRoot() {
    for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
      if (Files.isDirectory(d.resolve("deploy/compose"))) {
        return d;
      }
    }
    throw new IllegalStateException("deploy/compose not found above " + Path.of("").toAbsolutePath());
  }

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void provision() throws Exception {
    spec = ConsortiumSpec.load(COMPOSE_DIR.resolve("consortium.yaml"));
    Path image = Files.write(tmp.resolve("enclave.jar"), new byte[] {1, 2, 3}); // measured, never run here
    kits = tmp.resolve("kits");
    new Provisioner(new SecureRandom(), image).provision(spec, kits, Instant.now());
    Map<String, Object> compose = new Yaml().load(Files.readString(COMPOSE_DIR.resolve("docker-compose.yml")));
    services = (Map<String, Map<String, Object>>) compose.get("services");
  }

  @SuppressWarnings("unchecked")
  private static List<String> list(Map<String, Object> service, String key) {
    Object v = service.get(key);
    return v == null ? List.of() : ((List<Object>) v).stream().map(String::valueOf).toList();
  }

  /** The kit folder mounted at /kit, relative to deploy/compose. */
  private static String kitMount(String service) {
    return list(services.get(service), "volumes").stream().filter(v -> v.matches("\\./kits/.+:/kit(:ro)?"))
        .map(v -> v.substring(2, v.indexOf(":/kit"))).findFirst().orElseThrow(() -> new AssertionError(service + " mounts no kit at /kit"));
  }

  private static Path kitFile(String service, String containerPath) {
    assertThat(containerPath).as("%s names a file outside /kit", service).startsWith("/kit/");
    return kits.getParent().resolve(kitMount(service)).resolve(containerPath.substring("/kit/".length()));
  }

  @Test
  void everySiteOfTheConsortiumIsAServiceRunningItsOwnKit() throws Exception {
    for (String site : spec.sites()) {
      assertThat(services).containsKey(site);
      assertThat(kitMount(site)).isEqualTo("kits/" + site);
      List<String> cmd = list(services.get(site), "command");
      assertThat(cmd.subList(0, 2)).containsExactly("site", "start");
      Path config = kitFile(site, cmd.get(cmd.indexOf("--config") + 1));
      assertThat(config).isRegularFile();
      String yaml = Files.readString(config);
      assertThat(yaml).contains("coordinator: " + spec.coordinatorHost() + ":" + spec.coordinatorPort());
      assertThat(yaml).contains("metrics: 127.0.0.1:0"); // what prepare-kits.sh rewrites
    }
    assertThat(services.keySet().stream().filter(s -> s.startsWith("site-"))).containsExactlyInAnyOrderElementsOf(spec.sites());
  }

  @Test
  void theCoordinatorIsTheHostTheKitsDialAndPublishesItsPort() throws Exception {
    String coord = spec.coordinatorHost();
    assertThat(services).containsKey(coord);
    assertThat(kitMount(coord)).isEqualTo("kits/coordinator");
    List<String> cmd = list(services.get(coord), "command");
    assertThat(cmd.subList(0, 2)).containsExactly("coordinator", "start");
    String yaml = Files.readString(kitFile(coord, cmd.get(cmd.indexOf("--config") + 1)));
    assertThat(yaml).contains("listen: 0.0.0.0:" + spec.coordinatorPort());
    assertThat(list(services.get(coord), "ports")).contains(spec.coordinatorPort() + ":" + spec.coordinatorPort());
    // the key broker runs elsewhere: the coordinator's kit dials it and holds no key-broker/
    assertThat(yaml).contains("key_broker_address: " + spec.keyBroker().address());
    assertThat(kits.resolve("coordinator/key-broker")).doesNotExist();
  }

  @Test
  void prepareKitsEditsLinesThatTheProvisionedKitsHave() throws Exception {
    String script = Files.readString(COMPOSE_DIR.resolve("prepare-kits.sh"));
    String coordinatorYaml = Files.readString(kits.resolve("coordinator/coordinator.yaml"));
    List<String> edited = new ArrayList<>();
    Pattern sed = Pattern.compile("-e 's#\\^([^#]+)#([^#]+)#'");
    Matcher all = sed.matcher(script);
    while (all.find()) {
      edited.add(all.group(1));
    }
    assertThat(edited).isNotEmpty();
    for (String line : edited) {
      String literal = line.replace("\\.", ".");
      boolean inCoordinator = coordinatorYaml.lines().anyMatch(l -> l.startsWith(literal));
      boolean inSite = Files.readString(kits.resolve(spec.sites().get(0) + "/site.yaml")).lines().anyMatch(l -> l.startsWith(literal));
      assertThat(inCoordinator || inSite).as("prepare-kits.sh edits '%s', which no provisioned file has", literal).isTrue();
    }
    // the database it points the coordinator at is the PostgreSQL service's
    Matcher url = Pattern.compile("jdbc:postgresql://([a-z0-9-]+):(\\d+)/([a-z0-9_]+)\\?user=([a-z0-9_]+)").matcher(script);
    assertThat(url.find()).isTrue();
    Map<String, Object> pg = services.get(url.group(1));
    assertThat(pg).as("service %s", url.group(1)).isNotNull();
    @SuppressWarnings("unchecked")
    Map<String, Object> env = (Map<String, Object>) pg.get("environment");
    assertThat(env).containsEntry("POSTGRES_DB", url.group(3)).containsEntry("POSTGRES_USER", url.group(4));
    assertThat(script).contains("printf 'postgres:5432:" + url.group(3) + ":" + url.group(4) + ":");
    @SuppressWarnings("unchecked")
    Map<String, Object> coordEnv = (Map<String, Object>) services.get(spec.coordinatorHost()).get("environment");
    assertThat(coordEnv).containsEntry("PGPASSFILE", "/kit/pgpass");
  }

  @Test
  void theKeyBrokerServiceIsTheAddressTheEnclaveDialsAndItsFilesAreInItsKit() {
    String address = spec.keyBroker().address();
    String host = address.substring(0, address.lastIndexOf(':'));
    String port = address.substring(address.lastIndexOf(':') + 1);
    assertThat(services).containsKey(host);
    assertThat(kitMount(host)).isEqualTo("kits/" + spec.keyBroker().party() + "/key-broker");
    assertThat(services.get(host).get("working_dir")).isEqualTo("/kit");
    List<String> cmd = list(services.get(host), "command");
    assertThat(cmd.subList(0, 2)).containsExactly("broker", "run");
    assertThat(cmd.get(cmd.indexOf("--listen") + 1)).isEqualTo("0.0.0.0:" + port);
    Path kit = kits.resolve(spec.keyBroker().party()).resolve("key-broker");
    for (String flag : List.of("--keystore", "--keystore-password-file", "--policies", "--tls-cert", "--tls-key",
        "--admin-token-file", "--attestation-root")) {
      assertThat(kit.resolve(cmd.get(cmd.indexOf(flag) + 1))).as(flag).isRegularFile();
    }
  }

  @Test
  void everyKitIsMountedByAServiceExceptTheOfflineCa() throws Exception {
    Set<String> mounted = new TreeSet<>();
    for (String s : services.keySet()) {
      list(services.get(s), "volumes").stream().filter(v -> v.startsWith("./kits/"))
          .forEach(v -> mounted.add(v.substring("./kits/".length(), v.indexOf(':'))));
    }
    Set<String> parties = new TreeSet<>();
    try (var dirs = Files.list(kits)) {
      dirs.filter(Files::isDirectory).map(p -> p.getFileName().toString()).filter(n -> !n.equals("ca")).forEach(parties::add);
    }
    for (String party : parties) {
      assertThat(mounted.stream().anyMatch(m -> m.equals(party) || m.startsWith(party + "/"))).as("kit %s", party).isTrue();
    }
    assertThat(mounted).doesNotContain("ca");
  }

  @Test
  void everyCloisterServiceRunsAsNonRootOnAReadOnlyFilesystem() {
    for (Map.Entry<String, Map<String, Object>> s : services.entrySet()) {
      if (String.valueOf(s.getValue().get("image")).contains("cloister")) {
        assertThat(s.getValue().get("user")).as(s.getKey()).isEqualTo("65532:65532");
        assertThat(s.getValue().get("read_only")).as(s.getKey()).isEqualTo(true);
        assertThat(list(s.getValue(), "cap_drop")).as(s.getKey()).containsExactly("ALL");
        assertThat(list(s.getValue(), "tmpfs")).as(s.getKey()).containsExactly("/tmp");
      }
    }
    assertThat(services.values().stream().filter(s -> String.valueOf(s.get("image")).contains("cloister"))).hasSize(5);
  }
}
