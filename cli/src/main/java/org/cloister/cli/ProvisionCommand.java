package org.cloister.cli;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Callable;
import org.cloister.cli.provision.ConsortiumSpec;
import org.cloister.cli.provision.Provisioner;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code cloister provision CONSORTIUM.yaml --out DIR}. */
@Command(name = "provision", mixinStandardHelpOptions = true,
    description = {"Creates a consortium CA and, for the coordinator and each site, a key pair, a certificate and a "
        + "ready-to-run configuration folder.",
        "Each private key is written only into its own folder."})
final class ProvisionCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "CONSORTIUM.yaml", description = "consortium name, coordinator host/port, site ids")
  Path consortium;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (must not exist or be empty).")
  Path out;

  @Option(names = "--platform", paramLabel = "PLATFORM", defaultValue = "simulated",
      description = {"simulated (default: development, no TEE), nitro, sev-snp or tdx. A real platform needs the enclave's "
          + "measurements: --measurements FILE or --measurement NAME=HEX (nitro pcr0..pcr2; sev-snp measurement "
          + "[host_data]; tdx mr_td, rtmr0..rtmr3 [mr_config_id]); every party's kit pins them."})
  String platform;

  @Option(names = "--measurements", paramLabel = "FILE",
      description = "The measurements to pin (cloister-measurements/v1, e.g. from `attest verify --json` output).")
  Path measurementsFile;

  @Option(names = "--measurement", paramLabel = "NAME=HEX", description = "One measurement to pin (repeatable).")
  java.util.Map<String, String> measurements = new java.util.LinkedHashMap<>();

  @Option(names = "--accept-tcb", paramLabel = "up-to-date|out-of-date", defaultValue = "up-to-date",
      description = "TDX: tolerate a TCB Intel rates other than UpToDate (never Revoked). Default up-to-date.")
  String acceptTcb;

  /** The pins for a real platform, or null for the simulated one; errors name what is wrong. */
  org.cloister.trust.attestation.MeasurementPins pins() throws java.io.IOException {
    if (!acceptTcb.equals("up-to-date") && !acceptTcb.equals("out-of-date")) {
      throw new IllegalArgumentException("--accept-tcb must be up-to-date or out-of-date, not '" + acceptTcb + "'");
    }
    if (platform.equals("simulated")) {
      if (measurementsFile != null || !measurements.isEmpty()) {
        throw new IllegalArgumentException("--measurements/--measurement pin a real platform: name it with "
            + "--platform nitro|sev-snp|tdx (the simulated platform's PCRs are measured here)");
      }
      return null;
    }
    org.cloister.trust.attestation.TeePlatform p = org.cloister.trust.attestation.EvidenceVerifiers.fromId(platform);
    if ((measurementsFile == null) == measurements.isEmpty()) {
      throw new IllegalArgumentException("--platform " + p.id() + " needs the enclave's measurements to pin: "
          + "--measurements FILE or --measurement NAME=HEX (" + String.join(", ",
          org.cloister.trust.attestation.MeasurementPins.required(p)) + "), one of the two");
    }
    org.cloister.trust.attestation.MeasurementPins pins = measurementsFile != null
        ? org.cloister.trust.attestation.MeasurementPins.read(measurementsFile)
        : org.cloister.trust.attestation.MeasurementPins.ofHex(p, measurements, acceptTcb.equals("out-of-date"));
    if (!pins.platform().equals(p)) {
      throw new IllegalArgumentException(measurementsFile + " pins " + pins.platform().id() + " measurements, not "
          + p.id());
    }
    return pins;
  }

  @Override
  public Integer call() throws Exception {
    ConsortiumSpec s;
    List<Path> dirs;
    org.cloister.trust.attestation.MeasurementPins pins;
    try {
      pins = pins();
    } catch (IllegalArgumentException | java.io.IOException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    try {
      s = ConsortiumSpec.load(consortium);
      java.nio.file.Path image = org.cloister.consortium.SecureAggregationSetup.locateImage();
      if (image == null) {
        throw new IllegalArgumentException("no enclave image jar to measure: build the distribution with "
            + "./mvnw -pl cli -am package (cli/target/enclave/cloister-enclave.jar) or set -Dcloister.enclave.image=JAR");
      }
      dirs = new Provisioner(new SecureRandom(), image).provision(s, out, Instant.now(), pins);
    } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          e instanceof java.nio.file.NoSuchFileException ? "no such file: " + e.getMessage() : e.getMessage());
    }
    var o = spec.commandLine().getOut();
    o.printf("Provisioned consortium %s (%d sites) in %s:%n", s.name(), s.sites().size(), out);
    for (Path d : dirs) {
      o.println("  " + d);
    }
    o.printf("Study %s: %s, %s in the enclave, quorum %d; the enclave's expected %s are in coordinator/enclave/%s%n",
        s.study().id(), s.study().model(), s.study().strategy(), s.study().minSites(),
        pins == null || pins.platform() == org.cloister.trust.attestation.TeePlatform.NITRO ? "PCRs" : "measurements",
        pins == null || pins.platform() == org.cloister.trust.attestation.TeePlatform.NITRO ? "expected-pcrs.json"
            : "expected-measurements.json");
    if (s.study().centralDp() != null) {
      var dp = Provisioner.centralDp(s.study().centralDp());
      // printed rounded up: the printed multiplier also meets the target
      String z = new java.math.BigDecimal(dp.noiseMultiplier()).round(new java.math.MathContext(6, java.math.RoundingMode.UP))
          .toPlainString();
      o.printf("Central DP (site level) in the enclave: updates clipped to %s, noise multiplier %s on the sum, divided by %s;"
              + " at most %d noised models: epsilon <= %s at delta %s per site (RDP accountant)%n",
          dp.clipNorm(), z, dp.denominator(), dp.maxReleases(), s.study().centralDp().epsilon(), dp.delta());
    }
    if (s.keyBroker() != null) {
      o.printf("Key broker: with %s at %s (its kit: %s/key-broker/); the coordinator's host does not hold the model key%n",
          s.keyBroker().party(), s.keyBroker().address(), s.keyBroker().party());
    } else {
      o.println("Key broker: on the coordinator's host (it can read the model key there; see docs/trust.md, key_broker: in the consortium file)");
    }
    if (pins == null) {
      o.println("WARNING: the enclave runs on a SIMULATED attestation platform (development root in coordinator/enclave/platform/):");
      o.println("         it shows the protocol, not isolation. Never use these kits with real patient data.");
    } else {
      o.printf("Platform %s: every kit pins %s (vendor root pinned in Cloister)%s%n", pins.platform().id(),
          String.join(", ", pins.values().keySet()), pins.platform() == org.cloister.trust.attestation.TeePlatform.NITRO
              ? "" : "; fill each kit's collateral/ with `cloister attest collateral` for offline verification");
    }
    o.println("Copy each folder to its machine; keep ca/ offline.");
    o.flush();
    return 0;
  }
}
