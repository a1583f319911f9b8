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
        + "study: {strategy: fedyogi, cohort_floor: 2}\nobservers: [evaluator]\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Provisioned consortium wdbc (2 sites)");
    // the operator's kit: a certificate for the coordinator's operator API, named in coordinator.yaml
    Path op = out.resolve("operator");
    assertThat(Pem.readCertificates(op.resolve("operator.crt")).get(0).getSubjectX500Principal().getName())
        .contains("CN=operator");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(op.resolve("operator.key")))).isEqualTo("rw-------");
    assertThat(Files.readString(op.resolve("operator.yaml"))).contains("coordinator: 127.0.0.1:7443");
    assertThat(Files.readString(out.resolve("coordinator/coordinator.yaml"))).contains("operators: [operator]");

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
    assertThat(policy.cohortFloor()).isEqualTo(2);
    // the consortium CA signs contributions; the observer never counts as a training site
    org.cloister.enclave.EnclaveConfig config = org.cloister.enclave.EnclaveConfig.parse(
        Files.readAllBytes(enclave.resolve("enclave-config.json")));
    assertThat(config.consortiumCa()).isEqualTo(Pem.readCertificate(out.resolve("site-1/ca.crt")));
    assertThat(config.member("evaluator").trains()).isFalse();
    assertThat(config.member("site-1").trains()).isTrue();
    assertThat(policy.strategy().name()).isEqualTo("fedyogi");
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

  /** One model card, from the consortium file, in the coordinator's and every member's kit; sites train by it. */
  @Test
  void everyKitCarriesTheStudysModelCardAndSitesReadTheirRulesFromIt(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("consortium.yaml");
    Files.writeString(spec, "consortium: icu\nsites: [site-1, site-2]\nobservers: [evaluator]\n"
        + "study: {features: 2, classes: 2, cohort_floor: 2, class_names: [survived, died],\n"
        + "        preprocessing: {age: {bounds: [18, 100]}, crp: {log_bounds: [0.1, 300]}}}\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    org.cloister.data.ModelCard card = org.cloister.data.ModelCard.parse(
        Files.readAllBytes(out.resolve("coordinator/model-card.json")), "coordinator kit");
    assertThat(card.studyId()).isEqualTo("icu-study-1");
    assertThat(card.featureNames()).containsExactly("age", "crp");
    assertThat(card.classNames()).containsExactly("survived", "died");
    assertThat(card.preprocessing().rules().get(1).transform()).isEqualTo(org.cloister.data.FeatureRule.Transform.LOG);
    for (String member : List.of("site-1", "site-2", "evaluator")) {
      assertThat(Files.readAllBytes(out.resolve(member).resolve("model-card.json")))
          .isEqualTo(Files.readAllBytes(out.resolve("coordinator/model-card.json")));
    }
    assertThat(Files.readString(out.resolve("site-1/site.yaml"))).contains("preprocessing: model-card.json");
    // a site's CSV without one of the study's features: one line naming the file and the feature (before dialling)
    Files.writeString(out.resolve("site-1/data.csv"), "age,label\n50,0\n");
    CloisterCommandTest.Run missingFeature = CloisterCommandTest.run("site", "start", "--config",
        out.resolve("site-1/site.yaml").toString());
    assertThat(missingFeature.code()).isEqualTo(2);
    assertThat(missingFeature.err()).contains(out.resolve("site-1/data.csv") + " line 1: the study's feature 'crp' is not in"
        + " header").doesNotContain("\tat ");
    CloisterCommandTest.Run noConfig = CloisterCommandTest.run("site", "start", "--config",
        out.resolve("site-1/sit.yaml").toString());
    assertThat(noConfig.err()).isEqualTo("cloister site start: no such file: " + out.resolve("site-1/sit.yaml")
        + System.lineSeparator()); // one line, no synopsis: the arguments were right, the file is not there
    assertThat(missingFeature.err().lines().count()).isEqualTo(1);

    // the default study is WDBC's: its public bounds and class names
    Path wdbc = dir.resolve("wdbc.yaml");
    Files.writeString(wdbc, "consortium: wdbc\nsites: [site-1, site-2]\nstudy: {cohort_floor: 2}\n");
    assertThat(CloisterCommandTest.run("provision", wdbc.toString(), "--out", dir.resolve("w").toString()).code()).isZero();
    assertThat(org.cloister.data.ModelCard.parse(Files.readAllBytes(dir.resolve("w/site-2/model-card.json")), "kit"))
        .isEqualTo(org.cloister.data.BuiltinDatasets.wdbcCard("wdbc-study-1"));

    // a preprocessing block that does not match the declared features is refused by name
    Files.writeString(spec, "consortium: icu\nsites: [site-1, site-2]\n"
        + "study: {features: 3, cohort_floor: 2, preprocessing: {age: {bounds: [18, 100]}}}\n");
    CloisterCommandTest.Run bad = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("x").toString());
    assertThat(bad.code()).isNotZero();
    assertThat(bad.err()).contains("study.preprocessing declares 1 features [age], study.features is 3");
  }

  /** A public host name is what sites dial, not an address this host can bind: the kit listens on all interfaces. */
  @Test
  void aPublicCoordinatorNameIsDialledButNotBound(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("consortium.yaml");
    Files.writeString(spec, "consortium: c\ncoordinator: {host: coordinator.example.org, port: 7443}\nsites: [site-1, site-2]\n"
        + "study: {cohort_floor: 2}\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    java.util.Map<String, Object> yaml = new org.yaml.snakeyaml.Yaml().load(Files.readString(out.resolve("coordinator/coordinator.yaml")));
    String listen = String.valueOf(yaml.get("listen"));
    String host = listen.substring(0, listen.lastIndexOf(':'));
    assertThat(java.net.InetAddress.getByName(host).isAnyLocalAddress()).as(listen).isTrue();
    assertThat(listen).endsWith(":7443");
    assertThat(Files.readString(out.resolve("site-1/site.yaml"))).contains("coordinator.example.org:7443");

    // a port another process holds: one line naming the key and the file, before the key broker and enclave start
    Path coordYaml = out.resolve("coordinator/coordinator.yaml");
    try (java.net.ServerSocket held = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      Files.writeString(coordYaml, Files.readString(coordYaml).replace(listen, "127.0.0.1:" + held.getLocalPort()));
      CloisterCommandTest.Run start = CloisterCommandTest.run("coordinator", "start", "--config", coordYaml.toString());
      assertThat(start.code()).isEqualTo(1);
      assertThat(start.err()).contains("'listen' 127.0.0.1:" + held.getLocalPort() + " in coordinator.yaml: cannot bind the address")
          .contains("another process holds the port").doesNotContain("\tat ");
      assertThat(start.out()).doesNotContain("aggregation:");
    }
  }

  @Test
  void refusesToOverwriteAndNamesBadSpecs(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: x\nsites: [a, a]\n");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o").toString());
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("site id 'a' appears twice");

    Files.writeString(spec, "consortium: x\nsites: [a, b, operator]\n");
    CloisterCommandTest.Run taken = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("op").toString());
    assertThat(taken.code()).isEqualTo(2);
    assertThat(taken.err()).contains("'operator' is the name of the operator's certificate");

    Files.writeString(spec, "consortium: x\nsites: [a, b, c]\n");
    Files.createDirectories(dir.resolve("full"));
    Files.writeString(dir.resolve("full/keep.txt"), "x");
    CloisterCommandTest.Run r2 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("full").toString());
    assertThat(r2.code()).isEqualTo(2);
    assertThat(r2.err()).contains("not empty");

    Files.writeString(spec, "consortium: x\nsites: [a, b, c]\nstudy: {strategy: fedsgd}\n");
    CloisterCommandTest.Run r3 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o3").toString());
    assertThat(r3.code()).isEqualTo(2);
    assertThat(r3.err()).contains("unknown strategy 'fedsgd'");
    Files.writeString(spec, "consortium: x\nsites: [a]\nstudy: {min_sites: 2}\n");
    CloisterCommandTest.Run r4 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o4").toString());
    assertThat(r4.code()).isEqualTo(2);
    assertThat(r4.err()).contains("study.min_sites 2 exceeds the 1 sites");
    // the cohort floor: 3 unless chosen, never below 2, never above the number of training sites
    Files.writeString(spec, "consortium: x\nsites: [a, b]\nobservers: [c]\n");
    CloisterCommandTest.Run r5 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o5").toString());
    assertThat(r5.code()).isEqualTo(2);
    assertThat(r5.err()).contains("study.cohort_floor 3 exceeds the 2 sites");
    Files.writeString(spec, "consortium: x\nsites: [a, b, c]\nstudy: {cohort_floor: 1}\n");
    CloisterCommandTest.Run r6 = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o6").toString());
    assertThat(r6.code()).isEqualTo(2);
    assertThat(r6.err()).contains("study.cohort_floor must be >= 2");
  }

  @Test
  void aCoordinatorWhoseStudyDiffersFromTheMeasuredPolicyRefusesToStart(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: p\nsites: [site-1, site-2]\nstudy: {id: p-study, min_sites: 1, cohort_floor: 2}\n");
    Path out = dir.resolve("kits");
    assertThat(CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString()).code()).isZero();
    Path yaml = out.resolve("coordinator/coordinator.yaml");
    String original = Files.readString(yaml);
    // the round quorum is what the enclave can publish from: max(min_sites 1, cohort_floor 2). A round with fewer
    // sites would spend their privacy budget and publish nothing
    assertThat(original).contains("min_sites: 2 ");

    // each edit of a field the policy fixes, and the message naming it
    Map<String[], List<String>> edits = new java.util.LinkedHashMap<>();
    edits.put(new String[] {"min_sites: 2 ", "min_sites: 1 "},
        List.of("study.min_sites 1 is below the 2 distinct sites the aggregation policy", "cohort_floor",
            "set study.min_sites: 2"));
    edits.put(new String[] {"strategy: fedavg", "strategy: fedadam"},
        List.of("study.strategy fedadam (fedadam:beta1=0.9,beta2=0.99,server_lr=0.1,tau=0.001) does not match the aggregation policy",
            "strategy fedavg:server_lr=1"));
    // a parameter the policy measures, not only the strategy's name (the name alone used to be compared)
    edits.put(new String[] {"strategy: fedavg", "strategy: fedavg:server_lr=0.5"},
        List.of("study.strategy fedavg:server_lr=0.5", "does not match the aggregation policy", "strategy fedavg:server_lr=1"));
    edits.put(new String[] {"features: 30", "features: 12"},
        List.of("study model logreg with 26 parameters does not match", "logreg with 62"));
    edits.put(new String[] {"strategy: fedavg", "strategy: fedprox:abc"}, List.of("fedprox:abc", "'abc' is not a number"));
    for (Map.Entry<String[], List<String>> e : edits.entrySet()) {
      Files.writeString(yaml, original.replace(e.getKey()[0], e.getKey()[1]));
      CloisterCommandTest.Run r = CloisterCommandTest.run("coordinator", "start", "--config", yaml.toString());
      assertThat(r.code()).as(e.getKey()[1]).isEqualTo(2);
      assertThat(r.err()).contains(e.getValue());
    }
  }

  @Test
  void theKeyBrokerCanBePlacedWithAnotherPartySoTheCoordinatorsHostNeverHoldsTheModelKey(@TempDir Path dir)
      throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: kb\nsites: [site-1, site-2, site-3]\n"
        + "key_broker: {host: trustee, address: 10.0.0.7:7450}\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out()).contains("Key broker: with trustee at 10.0.0.7:7450").contains(out.resolve("trustee").toString());
    // the coordinator's kit has no broker directory, no keystore anywhere, and points its enclave at the remote broker
    assertThat(out.resolve("coordinator/key-broker")).doesNotExist();
    try (Stream<Path> all = Files.walk(out.resolve("coordinator"))) {
      assertThat(all.filter(p -> p.toString().endsWith(".p12") || p.toString().contains("keystore"))).isEmpty();
    }
    String yaml = Files.readString(out.resolve("coordinator/coordinator.yaml"));
    assertThat(yaml).contains("key_broker_address: 10.0.0.7:7450").doesNotContain("key_broker: key-broker");
    // the trustee's kit: keystore, its password, the PCR-pinned policy, TLS, the attestation root and how to run it
    Path broker = out.resolve("trustee/key-broker");
    for (String f : List.of("keystore.p12", "tls.pem", "tls.key", "key-policies.json", "attestation-root.crt", "README.txt")) {
      assertThat(broker.resolve(f)).as(f).exists();
    }
    Map<Integer, byte[]> pcrs = SecureAggregationSetup.readPcrs(out.resolve("coordinator/enclave/expected-pcrs.json"));
    assertThat(Files.readString(broker.resolve("key-policies.json"))).contains(HexFormat.of().formatHex(pcrs.get(0)));
    assertThat(Files.readString(broker.resolve("README.txt"))).contains("cloister broker run --keystore keystore.p12")
        .contains("--listen 0.0.0.0:7450");

    // and it works: the broker started from the trustee's kit releases the model key to the enclave started from
    // the coordinator's kit (both real processes), so the enclave comes up
    Path enclave = out.resolve("coordinator/enclave");
    AggregationPolicy policy = AggregationPolicy.parse(Files.readAllBytes(enclave.resolve("aggregation-policy.json")));
    try (var host = org.cloister.consortium.SecureAggregationHost.start(new org.cloister.consortium.SecureAggregationHost.Launch(
        new SecureAggregationSetup.BrokerFiles(broker), dir.resolve("audit.jsonl"), List.of(enclave.resolve("cloister-enclave.jar")),
        new SecureAggregationSetup.EnclaveFiles(enclave.resolve("enclave-config.json"), enclave.resolve("aggregation-policy.json"),
            SecureAggregationSetup.modelKeyId(policy.studyId())),
        enclave.resolve("platform/dev-attestation-root.crt"), enclave.resolve("platform/dev-attestation-root.key")),
        java.time.Duration.ofSeconds(120))) {
      assertThat(host.describe()).isNotBlank();
    }
    assertThat(Files.readString(dir.resolve("audit.jsonl"))).contains(SecureAggregationSetup.modelKeyId(policy.studyId()));

    Files.writeString(spec, "consortium: kb\nsites: [site-1, site-2, site-3]\nkey_broker: {host: coordinator, address: 10.0.0.7:7450}\n");
    CloisterCommandTest.Run bad = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o2").toString());
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("the broker must run with a party other than the coordinator");
  }

  @Test
  void centralDpIsCalibratedToTheSiteLevelTargetAndRoundedInTheSafeDirection(@TempDir Path dir) throws Exception {
    Path spec = dir.resolve("c.yaml");
    Files.writeString(spec, "consortium: cdp\nsites: [site-1, site-2, site-3]\n"
        + "study: {central_dp: {epsilon: 4.0, delta: 1.0e-5, rounds: 10, clip_norm: 3.0}}\n");
    Path out = dir.resolve("kits");
    CloisterCommandTest.Run r = CloisterCommandTest.run("provision", spec.toString(), "--out", out.toString());
    assertThat(r.code()).as(r.err()).isZero();
    AggregationPolicy.CentralDp dp = AggregationPolicy.parse(Files.readAllBytes(
        out.resolve("coordinator/enclave/aggregation-policy.json"))).centralDp();
    assertThat(dp.clipNorm()).isEqualTo(3.0);
    assertThat(dp.denominator()).isEqualTo(3.0); // default: the number of sites
    assertThat(dp.maxReleases()).isEqualTo(10);
    assertThat(dp.delta()).isEqualTo(1e-5);
    // ten Gaussian releases at the calibrated z meet epsilon 4 (independent check with the RDP accountant) ...
    double eps = new org.cloister.dp.accounting.rdp.RdpAccountant()
        .compose(new org.cloister.dp.events.GaussianEvent(dp.noiseMultiplier()), 10).epsilon(1e-5);
    assertThat(eps).isLessThanOrEqualTo(4.0);
    // ... and the calibration is tight: 0.01 % less noise misses it
    double less = new org.cloister.dp.accounting.rdp.RdpAccountant()
        .compose(new org.cloister.dp.events.GaussianEvent(dp.noiseMultiplier() * (1 - 1e-4)), 10).epsilon(1e-5);
    assertThat(less).isGreaterThan(4.0);
    // the printed multiplier is rounded up, so it meets the target too
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("noise multiplier ([0-9.]+) on the sum").matcher(r.out());
    assertThat(m.find()).as(r.out()).isTrue();
    assertThat(Double.parseDouble(m.group(1))).isGreaterThanOrEqualTo(dp.noiseMultiplier());

    // every privacy setting of central DP is explicit: none defaults
    Files.writeString(spec, "consortium: cdp\nsites: [site-1, site-2, site-3]\nstudy: {central_dp: {epsilon: 4.0, rounds: 10, clip_norm: 3}}\n");
    CloisterCommandTest.Run bad = CloisterCommandTest.run("provision", spec.toString(), "--out", dir.resolve("o2").toString());
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("c.yaml: 'study.central_dp.delta' is missing (required)");
  }
}
