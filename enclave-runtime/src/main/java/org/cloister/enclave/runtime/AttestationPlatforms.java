package org.cloister.enclave.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.cloister.enclave.runtime.tee.ConfigfsFiles;
import org.cloister.enclave.runtime.tee.ConfigfsTsm;
import org.cloister.enclave.runtime.tee.NitroSecureModule;
import org.cloister.enclave.runtime.tee.SevGuest;
import org.cloister.enclave.runtime.tee.SimulatedTsmKernel;
import org.cloister.protocol.EvidenceWire;
import org.cloister.trust.attestation.LaunchConfiguration;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.cloister.trust.attestation.tdx.SimulatedTdxPlatform;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;

/** The attestation platform an enclave process runs on, chosen by its {@code --platform} option. */
public final class AttestationPlatforms {
  /** The SEV-SNP test double's platform option. */
  public static final String SIMULATED_SNP = "simulated-sev-snp";
  /** The TDX test double's platform option. */
  public static final String SIMULATED_TDX = "simulated-tdx";
  private AttestationPlatforms() {
  }

  /** The name enclaves report for a platform option ({@code simulated-nitro} or {@code nitro}). */
  public static String label(String option) {
    return "simulated".equals(option) ? "simulated-nitro" : option;
  }

  /**
   * Same as {@link #open(String, Path, Path, String, Map, PrintStream)}, with the test doubles of confidential-VM
   * hardware too, whose keys derive from the development root key file:
   * <ul>
   *   <li>{@code simulated-sev-snp}: {@link org.cloister.trust.attestation.snp.SimulatedSnpPlatform} signing reports
   *       with launch measurement PCR0 (the image's SHA-384) and host_data the files' launch value;</li>
   *   <li>{@code simulated-tdx}: {@link SimulatedTdxPlatform} quoting MRTD = PCR0 and MRCONFIGID = the files'
   *       launch value, served through {@link SimulatedTsmKernel} (a configfs-tsm tree in a temporary directory)
   *       and read by the production {@link ConfigfsTsm} path.</li>
   * </ul>
   * The launch value is what an honest host sets ({@link LaunchConfiguration#digest} of {@code config} and
   * {@code policy}).
   */
  public static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                                    Map<Integer, byte[]> pcrs, byte[] config, byte[] policy, PrintStream err)
      throws IOException {
    if (!SIMULATED_SNP.equals(name) && !SIMULATED_TDX.equals(name)) {
      return open(name, devRootCert, devRootKey, moduleId, pcrs, err);
    }
    if (devRootKey == null) {
      throw new IllegalArgumentException("--platform " + name + " needs --dev-root-key (its keys derive from it)");
    }
    byte[] secret = Files.readAllBytes(devRootKey);
    byte[] measurement = pcrs.get(0).clone();
    if (SIMULATED_TDX.equals(name)) {
      err.println("WARNING: SIMULATED TDX platform (a test double of Intel's hardware and PCS): its quotes prove "
          + "nothing about isolation. Development only: never with real patient data.");
      SimulatedTdxPlatform tdx;
      try {
        tdx = SimulatedTdxPlatform.fromSecret(secret);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot create the simulated TDX platform: " + e.getMessage(), e);
      }
      byte[] mrConfigId = LaunchConfiguration.digest(TeePlatform.TDX, config, policy);
      Path tree = Files.createTempDirectory("cloister-simulated-tsm-");
      tree.toFile().deleteOnExit();
      return EvidenceSource.configfsTsm(new ConfigfsTsm(tree, new SimulatedTsmKernel("tdx_guest",
          reportData -> tdx.quote(reportData, measurement, mrConfigId)), new SecureRandom()));
    }
    err.println("WARNING: SIMULATED SEV-SNP platform (a test double of AMD's hardware and keys): its reports prove "
        + "nothing about isolation. Development only: never with real patient data.");
    SimulatedSnpPlatform snp;
    try {
      snp = SimulatedSnpPlatform.fromSecret(secret);
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot create the simulated SEV-SNP platform: " + e.getMessage(), e);
    }
    byte[] hostData = LaunchConfiguration.digest(TeePlatform.SEV_SNP, config, policy);
    List<byte[]> chain = snp.chainDer();
    return (nonce, userData, publicKey) -> {
      try {
        byte[] report = snp.report(ReportDataBinding.reportData(nonce, publicKey, userData), measurement,
            SimulatedSnpPlatform.POLICY, hostData);
        return EvidenceWire.confidentialVm("sev-snp", report, chain, publicKey, userData);
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("the simulated SEV-SNP platform failed: " + e.getMessage(), e);
      }
    };
  }

  /**
   * @param name        {@code simulated} (development root given by its certificate and key), {@code nitro} (the
   *                    Nitro Secure Module, {@code /dev/nsm}), {@code sev-snp} (configfs-tsm, else
   *                    {@code /dev/sev-guest}) or {@code tdx} (configfs-tsm); a missing device is an error, never
   *                    a fall back to a simulated platform
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
    return open(name, devRootCert, devRootKey, moduleId, pcrs, err, new Devices(tsmRoot, SevGuest.DEFAULT_DEVICE,
        NitroSecureModule.DEFAULT_DEVICE));
  }

  /**
   * Where the hardware interfaces are: the configfs-tsm report directory, the sev-guest device, the NSM device.
   */
  record Devices(Path tsmRoot, Path sevGuest, Path nsm) {
  }

  /** Same, with the devices given. */
  static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                             Map<Integer, byte[]> pcrs, PrintStream err, Devices devices) throws IOException {
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
        if (Files.isDirectory(devices.tsmRoot())) {
          // the kernel's provider says which platform answered; a verifier pinning the other one refuses it
          return EvidenceSource.confidentialVm(new ConfigfsTsm(devices.tsmRoot(), ConfigfsFiles.kernel(),
              new SecureRandom()));
        }
        if ("sev-snp".equals(name) && Files.exists(devices.sevGuest())) {
          err.println("no configfs-tsm at " + devices.tsmRoot() + ": SEV-SNP reports from " + devices.sevGuest()
              + " (kernel older than 6.7)");
          return EvidenceSource.confidentialVm(SevGuest.at(devices.sevGuest()));
        }
        throw new IllegalArgumentException("--platform " + name + ": no configfs-tsm report interface at "
            + devices.tsmRoot() + ("sev-snp".equals(name) ? " and no " + devices.sevGuest() : "")
            + " (this is not a confidential VM, or its kernel is older than 6.7 or configfs is not mounted)");
      }
      case "nitro" -> {
        if (!Files.exists(devices.nsm())) {
          throw new IllegalArgumentException("--platform nitro: no Nitro Secure Module at " + devices.nsm()
              + " (this is not a Nitro enclave; for development use --platform simulated)");
        }
        return EvidenceSource.nitro(NitroSecureModule.at(devices.nsm()));
      }
      default -> throw new IllegalArgumentException("--platform must be simulated, simulated-sev-snp, simulated-tdx, "
          + "nitro, sev-snp or tdx, got '" + name + "'");
    }
  }
}
