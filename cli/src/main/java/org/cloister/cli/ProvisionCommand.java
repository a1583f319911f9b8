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
    description = {"Creates a consortium CA and, for the coordinator and each site, a key pair, a certificate and a",
        "ready-to-run configuration folder. Each private key is written only into its own folder."})
final class ProvisionCommand implements Callable<Integer> {
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Parameters(paramLabel = "CONSORTIUM.yaml", description = "consortium name, coordinator host/port, site ids")
  Path consortium;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder (must not exist or be empty).")
  Path out;

  @Override
  public Integer call() throws Exception {
    ConsortiumSpec s;
    List<Path> dirs;
    try {
      s = ConsortiumSpec.load(consortium);
      java.nio.file.Path image = org.cloister.consortium.SecureAggregationSetup.locateImage();
      if (image == null) {
        throw new IllegalArgumentException("no enclave image jar to measure: build the distribution with "
            + "./mvnw -pl cli -am package (cli/target/enclave/cloister-enclave.jar) or set -Dcloister.enclave.image=JAR");
      }
      dirs = new Provisioner(new SecureRandom(), image).provision(s, out, Instant.now());
    } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          e instanceof java.nio.file.NoSuchFileException ? "no such file: " + e.getMessage() : e.getMessage());
    }
    var o = spec.commandLine().getOut();
    o.printf("Provisioned consortium %s (%d sites) in %s:%n", s.name(), s.sites().size(), out);
    for (Path d : dirs) {
      o.println("  " + d);
    }
    o.printf("Study %s: %s, %s in the enclave, quorum %d; the enclave's expected PCRs are in coordinator/enclave/expected-pcrs.json%n",
        s.study().id(), s.study().model(), s.study().strategy(), s.study().minSites());
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
    o.println("WARNING: the enclave runs on a SIMULATED attestation platform (development root in coordinator/enclave/platform/):");
    o.println("         it shows the protocol, not isolation. Never use these kits with real patient data.");
    o.println("Copy each folder to its machine; keep ca/ offline.");
    o.flush();
    return 0;
  }
}
