package org.cloister.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.cloister.broker.KeyPolicies;
import org.cloister.broker.KeyPolicy;
import org.cloister.cli.provision.ConsortiumSpec;
import org.cloister.cli.provision.Provisioner;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code provision --platform nitro|sev-snp|tdx}: every party's kit pins that platform's measurements. */
class ProvisionPlatformTest {
  static final String SPEC = "consortium: wdbc\ncoordinator: {host: 127.0.0.1, port: 7443}\nsites: [site-1, site-2]\n"
      + "study: {cohort_floor: 2}\nobservers: [evaluator]\nkey_broker: {host: site-2, address: 127.0.0.1:7500}\n";

  static List<Path> provision(Path dir, MeasurementPins pins) throws Exception {
    Files.writeString(dir.resolve("consortium.yaml"), SPEC);
    Path image = Files.writeString(dir.resolve("image.jar"), "an enclave image");
    return new Provisioner(new SecureRandom(), image).provision(ConsortiumSpec.load(dir.resolve("consortium.yaml")),
        dir.resolve("kits"), Instant.now(), pins);
  }

  static KeyPolicy brokerPolicy(Path kits) throws Exception {
    return KeyPolicies.load(kits.resolve("site-2/key-broker/key-policies.json")).all().get(0);
  }

  @Test
  void sevSnpKitsPinTheLaunchMeasurementForSitesObserversAndTheBroker(@TempDir Path dir) throws Exception {
    MeasurementPins pins = MeasurementPins.ofHex(TeePlatform.SEV_SNP, Map.of("measurement", "ab".repeat(48)), false);
    provision(dir, pins);
    Path kits = dir.resolve("kits");
    for (String member : List.of("site-1", "site-2", "evaluator")) {
      Path kit = kits.resolve(member);
      MeasurementPins read = MeasurementPins.read(kit.resolve("expected-measurements.json"));
      assertThat(read.platform()).isEqualTo(TeePlatform.SEV_SNP);
      assertThat(read.values().get("measurement")).isEqualTo(pins.values().get("measurement"));
      // host_data binds the configuration and policy the enclave must be launched with
      assertThat(read.values().get("host_data")).isEqualTo(org.cloister.trust.attestation.LaunchConfiguration.digest(
          TeePlatform.SEV_SNP, Files.readAllBytes(kits.resolve("coordinator/enclave/enclave-config.json")),
          Files.readAllBytes(kits.resolve("coordinator/enclave/aggregation-policy.json"))));
      assertThat(kit.resolve("expected-pcrs.json")).doesNotExist();
      assertThat(kit.resolve("attestation-root.crt")).doesNotExist();
      assertThat(kit.resolve("collateral")).isDirectory();
    }
    assertThat(Files.readString(kits.resolve("site-1/site.yaml")))
        .contains("expected_measurements: expected-measurements.json", "collateral_dir: collateral")
        .doesNotContain("expected_pcrs", "attestation_root");
    KeyPolicy p = brokerPolicy(kits);
    assertThat(p.platform()).isEqualTo("sev-snp");
    assertThat(p.expectedPcrs()).isNull();
    assertThat(p.expectedMeasurements()).containsEntry("measurement", "ab".repeat(48)).containsKey("host_data");
    assertThat(kits.resolve("site-2/key-broker/attestation-root.crt")).doesNotExist();
    String coordinator = Files.readString(kits.resolve("coordinator/coordinator.yaml"));
    assertThat(coordinator).contains("platform: sev-snp", "expected_measurements: enclave/expected-measurements.json")
        .doesNotContain("simulated", "attestation_root");
    assertThat(kits.resolve("coordinator/enclave/platform")).doesNotExist();
  }

  @Test
  void tdxKitsPinMrtdAndRtmrsWithTheTcbTheConsortiumAccepts(@TempDir Path dir) throws Exception {
    Map<String, String> m = new LinkedHashMap<>();
    for (String n : MeasurementPins.required(TeePlatform.TDX)) {
      m.put(n, "0" + (m.size() + 1) + "00".repeat(47));
    }
    provision(dir, MeasurementPins.ofHex(TeePlatform.TDX, m, true));
    MeasurementPins read = MeasurementPins.read(dir.resolve("kits/site-1/expected-measurements.json"));
    assertThat(read.values()).containsOnlyKeys("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id");
    assertThat(read.values().get("mr_config_id")).hasSize(48);
    assertThat(read.acceptOutOfDateTcb()).isTrue();
    KeyPolicy p = brokerPolicy(dir.resolve("kits"));
    assertThat(p.platform()).isEqualTo("tdx");
    assertThat(p.acceptTcb()).isEqualTo("out-of-date");
    assertThat(p.expected().pins().values().get("rtmr3")).isEqualTo(read.values().get("rtmr3"));
    // the coordinator's kit binds to its schema and names the pins and collateral its host check reads
    org.cloister.cli.config.CoordinatorFile.Aggregation a = org.cloister.cli.config.ConfigDir.bind(
        dir.resolve("kits/coordinator/coordinator.yaml"), org.cloister.cli.config.CoordinatorFile.class)
        .value().aggregation();
    assertThat(a.platform()).isEqualTo("tdx");
    assertThat(a.expectedPcrs()).isNull();
    assertThat(dir.resolve("kits/coordinator").resolve(a.expectedMeasurements())).exists();
    assertThat(dir.resolve("kits/coordinator").resolve(a.collateralDir())).isDirectory();
  }

  @Test
  void nitroKitsPinTheBuiltImagesPcrsUnderTheAwsRoot(@TempDir Path dir) throws Exception {
    Map<String, String> m = Map.of("pcr0", "01".repeat(48), "pcr1", "02".repeat(48), "pcr2", "03".repeat(48));
    provision(dir, MeasurementPins.ofHex(TeePlatform.NITRO, m, false));
    Path kits = dir.resolve("kits");
    Map<Integer, byte[]> pcrs = SecureAggregationSetup.readPcrs(kits.resolve("site-1/expected-pcrs.json"));
    assertThat(pcrs.get(2)).containsOnly((byte) 3);
    assertThat(Files.readString(kits.resolve("site-1/site.yaml"))).contains("attestation_root: aws");
    assertThat(kits.resolve("site-1/attestation-root.crt")).doesNotExist();
    assertThat(brokerPolicy(kits).expectedPcrs()).containsEntry(0, "01".repeat(48));
    assertThat(Files.readString(kits.resolve("coordinator/coordinator.yaml"))).contains("platform: nitro");
  }

  @Test
  void aLaunchValueThatIsNotTheFilesDigestIsRefused(@TempDir Path dir) throws Exception {
    MeasurementPins pins = MeasurementPins.ofHex(TeePlatform.SEV_SNP, Map.of("measurement", "ab".repeat(48),
        "host_data", "00".repeat(32)), false);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> provision(dir, pins))
        .hasMessageContaining("host_data " + "00".repeat(32) + " was given, but it is the digest of the enclave's "
            + "configuration and policy");
  }

  @Test
  void theCommandNamesMissingOrMismatchedMeasurements(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("c.yaml"), SPEC);
    String c = dir.resolve("c.yaml").toString();
    String out = dir.resolve("kits").toString();
    CloisterCommandTest.Run none = CloisterCommandTest.run("provision", c, "--out", out, "--platform", "sev-snp");
    assertThat(none.code()).isEqualTo(2);
    assertThat(none.err()).contains("--platform sev-snp needs the enclave's measurements to pin");
    CloisterCommandTest.Run partial = CloisterCommandTest.run("provision", c, "--out", out, "--platform", "tdx",
        "--measurement", "mr_td=" + "00".repeat(48));
    assertThat(partial.code()).isEqualTo(2);
    assertThat(partial.err()).contains("lack 'rtmr0'");
    CloisterCommandTest.Run simulated = CloisterCommandTest.run("provision", c, "--out", out,
        "--measurement", "measurement=" + "00".repeat(48));
    assertThat(simulated.code()).isEqualTo(2);
    assertThat(simulated.err()).contains("name it with --platform nitro|sev-snp|tdx");
    Files.writeString(dir.resolve("m.json"), MeasurementPins.ofHex(TeePlatform.SEV_SNP,
        Map.of("measurement", "00".repeat(48)), false).toJson());
    CloisterCommandTest.Run other = CloisterCommandTest.run("provision", c, "--out", out, "--platform", "tdx",
        "--measurements", dir.resolve("m.json").toString());
    assertThat(other.code()).isEqualTo(2);
    assertThat(other.err()).contains("pins sev-snp measurements, not tdx");
    CloisterCommandTest.Run bad = CloisterCommandTest.run("provision", c, "--out", out, "--platform", "sgx",
        "--measurement", "x=00");
    assertThat(bad.code()).isEqualTo(2);
    assertThat(bad.err()).contains("unknown platform 'sgx'");
    assertThat(dir.resolve("kits")).doesNotExist();
  }
}
