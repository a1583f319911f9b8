package org.cloister.enclave.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Map;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;

/** The attestation platform an enclave process runs on, chosen by its {@code --platform} option. */
public final class AttestationPlatforms {
  private AttestationPlatforms() {
  }

  /** The name enclaves report for a platform option ({@code simulated-nitro} or {@code nitro}). */
  public static String label(String option) {
    return "simulated".equals(option) ? "simulated-nitro" : option;
  }

  /**
   * Same as {@link #open(String, Path, Path, String, Map, PrintStream)}, with {@code simulated-sev-snp} too: the
   * SEV-SNP TEST DOUBLE ({@link org.cloister.trust.attestation.snp.SimulatedSnpPlatform}, keys derived from the
   * development root key file) signing reports with launch measurement PCR0 (the image's SHA-384) and host_data
   * {@code launchValue} (what an honest host sets, {@link org.cloister.trust.attestation.LaunchConfiguration}).
   */
  public static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                                    Map<Integer, byte[]> pcrs, byte[] launchValue, PrintStream err) throws IOException {
    if (!"simulated-sev-snp".equals(name)) {
      return open(name, devRootCert, devRootKey, moduleId, pcrs, err);
    }
    if (devRootKey == null) {
      throw new IllegalArgumentException("--platform simulated-sev-snp needs --dev-root-key (its keys derive from it)");
    }
    err.println("WARNING: SIMULATED SEV-SNP platform (a test double of AMD's hardware and keys): its reports prove "
        + "nothing about isolation. Development only: never with real patient data.");
    org.cloister.trust.attestation.snp.SimulatedSnpPlatform snp;
    try {
      snp = org.cloister.trust.attestation.snp.SimulatedSnpPlatform.fromSecret(Files.readAllBytes(devRootKey));
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot create the simulated SEV-SNP platform: " + e.getMessage(), e);
    }
    byte[] measurement = pcrs.get(0).clone();
    byte[] hostData = launchValue.clone();
    java.util.List<byte[]> chain = snp.chainDer();
    return (nonce, userData, publicKey) -> {
      try {
        byte[] report = snp.report(org.cloister.trust.attestation.ReportDataBinding.reportData(nonce, publicKey,
            userData), measurement, org.cloister.trust.attestation.snp.SimulatedSnpPlatform.POLICY, hostData);
        return org.cloister.protocol.EvidenceWire.confidentialVm("sev-snp", report, chain, publicKey, userData);
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalStateException("the simulated SEV-SNP platform failed: " + e.getMessage(), e);
      }
    };
  }

  /**
   * @param name        {@code simulated} (development root given by its certificate and key) or {@code nitro}
   * @param devRootCert development root certificate (simulated only), or null
   * @param devRootKey  its private key (simulated only), or null
   * @param err         where the simulated platform's warning banner goes
   */
  public static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                                    Map<Integer, byte[]> pcrs, PrintStream err) throws IOException {
    return open(name, devRootCert, devRootKey, moduleId, pcrs, err, org.cloister.enclave.runtime.tee.ConfigfsTsm.DEFAULT_ROOT);
  }

  /** Same, with the configfs-tsm report directory given (sev-snp, tdx). */
  static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                             Map<Integer, byte[]> pcrs, PrintStream err, Path tsmRoot) throws IOException {
    switch (name) {
      case "simulated" -> {
        if (devRootCert == null || devRootKey == null) {
          throw new IllegalArgumentException("--platform simulated needs --dev-root-cert and --dev-root-key");
        }
        err.println("WARNING: SIMULATED attestation platform: documents are signed by a development root, "
            + "not by Nitro hardware; they prove nothing about isolation. Development only: never with real patient data.");
        DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.load(devRootCert, devRootKey,
            Clock.systemUTC(), new SecureRandom());
        return EvidenceSource.nitro(new SimulatedNitroPlatform(authority, moduleId, pcrs));
      }
      case "sev-snp", "tdx" -> {
        if (!Files.isDirectory(tsmRoot)) {
          throw new IllegalArgumentException("--platform " + name + ": no configfs-tsm report interface at " + tsmRoot
              + " (this is not a confidential VM, or its kernel is older than 6.7 or configfs is not mounted)");
        }
        // the kernel's provider says which platform answered; a verifier pinning the other one refuses it
        return EvidenceSource.configfsTsm(new org.cloister.enclave.runtime.tee.ConfigfsTsm(tsmRoot,
            org.cloister.enclave.runtime.tee.ConfigfsFiles.kernel(), new SecureRandom()));
      }
      case "nitro" -> throw new IllegalArgumentException("--platform nitro: documents from the Nitro Secure Module "
          + "(/dev/nsm" + (Files.exists(Path.of("/dev/nsm")) ? ", present here" : ", absent here")
          + ") need native access that is not implemented yet; see docs/trust.md");
      default -> throw new IllegalArgumentException("--platform must be simulated, simulated-sev-snp, nitro, sev-snp or tdx, got '"
          + name + "'");
    }
  }
}
