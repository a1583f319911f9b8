package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.enclave.AggregationPolicy;
import org.cloister.enclave.ImageMeasurement;
import org.cloister.trust.hpke.HpkeKeyPair;
import java.util.stream.Stream;
import org.cloister.trust.pki.CertificatePaths;
import org.cloister.trust.pki.Pem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProvisionCommandTest {

  @Test
  void writesAStartupKitPerPartyWithKeysOnlyInTheirOwnFolder(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("consortium.yaml");
    Files.writeString(spec, "consortium: wdbc\ncoordinator: {host: 127.0.0.1, port: 7443}\nsites: [site-1, site-2]\n"
        + "study: {strategy: fedyogi}\nobservers: [evaluator]\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Provisioned consortium wdbc (2 sites)");

    for (String site : List.of("site-1", "site-2")) {
      Path kit = out.resolve(site);
      assertThat(kit.resolve("site.yaml")).exists();
      X509Certificate root = Pem.readCertificate(kit.resolve("ca.crt"));
      List<X509Certificate> chain = Pem.readCertificates(kit.resolve("site.crt"));
      assertThat(chain.get(0).getSubjectX500Principal().getName()).contains("CN=" + site);
      CertificatePaths.validate(chain, root, Instant.now()); // chains to the consortium CA
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kit.resolve("site.key")))).isEqualTo("rw-------");
      // the folder holds exactly its own private keys: its TLS key and its sealing key
      try (Stream<Path> files = Files.list(kit)) {
        assertThat(files.filter(p -> p.toString().endsWith(".key")).toList())
            .containsExactlyInAnyOrder(kit.resolve("site.key"), kit.resolve("sealing.key"));
      }
      assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(kit.resolve("sealing.key")))).isEqualTo("rw-------");
      // the enclave's roster lists this site's sealing public key; the site pins the PCRs the consortium measured
      HpkeKeyPair sealing = SecureAggregationSetup.readSealingKey(kit.resolve("sealing.key"));
      assertThat(Files.readString(out.resolve("coordinator/enclave/enclave-config.json")))
          .contains(HexFormat.of().formatHex(sealing.publicKey()));
      assertThat(Files.readAllBytes(kit.resolve("expected-pcrs.json")))
          .isEqualTo(Files.readAllBytes(out.resolve("coordinator/enclave/expected-pcrs.json")));
      assertThat(Files.readAllBytes(kit.resolve("attestation-root.crt")))
          .isEqualTo(Files.readAllBytes(out.resolve("coordinator/enclave/platform/dev-attestation-root.crt")));
      assertThat(Files.readString(kit.resolve("site.yaml"))).contains("sealing_key: sealing.key");
    }
    // PCR0..2: the image shipped in the coordinator's kit (the one this distribution built), its configuration, its policy
    Path enclave = out.resolve("coordinator/enclave");
    assertThat(Files.readAllBytes(enclave.resolve("cloister-enclave.jar")))
        .isEqualTo(Files.readAllBytes(SecureAggregationSetup.locateImage()));
    Map<Integer, byte[]> pcrs = SecureAggregationSetup.readPcrs(enclave.resolve("expected-pcrs.json"));
    Map<Integer, byte[]> measured = ImageMeasurement.pcrs(enclave.resolve("cloister-enclave.jar"),
        Files.readAllBytes(enclave.resolve("enclave-config.json")), Files.readAllBytes(enclave.resolve("aggregation-policy.json")));
    for (int i = 0; i <= 2; i++) {
      assertThat(pcrs.get(i)).as("PCR%d", i).isEqualTo(measured.get(i));
    }
    AggregationPolicy policy = AggregationPolicy.parse(Files.readAllBytes(enclave.resolve("aggregation-policy.json")));
    assertThat(policy.studyId()).isEqualTo("wdbc-study-1");
    assertThat(policy.dimension()).isEqualTo(62); // logistic regression (softmax) on 30 features, 2 classes
    assertThat(policy.minUpdates()).isEqualTo(2);
    assertThat(policy.serverOptimizer().name()).isEqualTo("fedyogi");
    assertThat(Files.readString(out.resolve("coordinator/coordinator.yaml"))).contains("strategy: fedyogi");
    // the key broker's directory (on the coordinator's host) pins the same PCRs for the model key
    assertThat(Files.readString(out.resolve("coordinator/key-broker/key-policies.json")))
        .contains(HexFormat.of().formatHex(pcrs.get(0)));
    assertThat(r.out()).contains("SIMULATED attestation platform");
    // an observer receives sealed models (it is in the roster) with its own client certificate, but trains nowhere
    Path evaluator = out.resolve("evaluator");
    assertThat(evaluator.resolve("member.crt")).exists();
    assertThat(Files.readString(out.resolve("coordinator/enclave/enclave-config.json"))).contains(HexFormat.of()
        .formatHex(SecureAggregationSetup.readSealingKey(evaluator.resolve("sealing.key")).publicKey()));
    assertThat(Files.readString(out.resolve("coordinator/coordinator.yaml"))).contains("sites: [site-1, site-2]");
    assertThat(out.resolve("coordinator/coordinator.key")).exists();
    assertThat(Files.readString(out.resolve("coordinator/coordinator.yaml"))).contains("listen: 127.0.0.1:7443");
  }

  /** A public host name is what sites dial, not an address this host can bind: the kit listens on all interfaces. */
  @Test
  void aPublicCoordinatorNameIsDialledButNotBound(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("consortium.yaml");
    Files.writeString(spec, "consortium: c\ncoordinator: {host: coordinator.example.org, port: 7443}\nsites: [site-1, site-2]\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    java.util.Map<String, Object> yaml = new org.yaml.snakeyaml.Yaml().load(Files.readString(out.resolve("coordinator/coordinator.yaml")));
    String listen = String.valueOf(yaml.get("listen"));
    String host = listen.substring(0, listen.lastIndexOf(':'));
    assertThat(java.net.InetAddress.getByName(host).isAnyLocalAddress()).as(listen).isTrue();
    assertThat(listen).endsWith(":7443");
    assertThat(Files.readString(out.resolve("site-1/site.yaml"))).contains("coordinator.example.org:7443");
  }

  @Test
  void refusesToOverwriteAndNamesBadSpecs(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: x\nsites: [a, a]\n");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("site id 'a' appears twice");

    Files.writeString(spec, "consortium: x\nsites: [a]\n");
    Files.createDirectories(dir.resolve("full"));
    Files.writeString(dir.resolve("full/keep.txt"), "x");
    CloisterCommandTest.Run r2 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("full").toString());
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("not empty");

    Files.writeString(spec, "consortium: x\nsites: [a]\nstudy: {strategy: fedsgd}\n");
    CloisterCommandTest.Run r3 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o3").toString());
    assertThat(r3.code()).isEqualTo(2);
    assertThat(r3.err()).contains("unknown strategy 'fedsgd'");
    Files.writeString(spec, "consortium: x\nsites: [a]\nstudy: {min_sites: 2}\n");
    CloisterCommandTest.Run r4 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o4").toString());
    assertThat(r4.code()).isEqualTo(2);
    assertThat(r4.err()).contains("study.min_sites 2 exceeds the 1 sites");
  }

  @Test
  void aCoordinatorWhoseStudyDiffersFromTheMeasuredPolicyRefusesToStart(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: p\nsites: [site-1]\nstudy: {id: p-study, min_sites: 1}\n");
    Path out = dir.resolve("kits");
    assertThat(CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString()).code()).isZero();
    Path yaml = out.resolve("coordinator/coordinator.yaml");
    String original = Files.readString(yaml);

    // each edit of a field the policy fixes, and the message naming it
    Map<String[], List<String>> edits = new java.util.LinkedHashMap<>();
    edits.put(new String[] {"strategy: fedavg", "strategy: fedadam"},
        List.of("study.strategy fedadam does not match the aggregation policy", "server optimizer fedavg"));
    edits.put(new String[] {"features: 30", "features: 12"},
        List.of("study model logreg with 26 parameters does not match", "logreg with 62"));
    edits.put(new String[] {"strategy: fedavg", "strategy: fedprox:abc"}, List.of("fedprox:abc", "mu 'abc' is not a number"));
    for (Map.Entry<String[], List<String>> e : edits.entrySet()) {
      Files.writeString(yaml, original.replace(e.getKey()[0], e.getKey()[1]));
      CloisterCommandTest.Run r = CloisterCommandTest.run("coordinator", "start", "--config", yaml.toString());
      assertThat(r.code()).as(e.getKey()[1]).isEqualTo(2);
      assertThat(r.err()).contains(e.getValue());
    }
  }
}
