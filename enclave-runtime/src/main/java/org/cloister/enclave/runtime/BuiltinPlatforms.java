package org.cloister.enclave.runtime;

import java.io.IOException;
import java.nio.file.Files;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import org.cloister.enclave.runtime.tee.ConfigfsFiles;
import org.cloister.enclave.runtime.tee.ConfigfsTsm;
import org.cloister.enclave.runtime.tee.NitroSecureModule;
import org.cloister.enclave.runtime.tee.SevGuest;
import org.cloister.enclave.runtime.tee.SimulatedTsmKernel;
import org.cloister.protocol.EvidenceWire;
import org.cloister.trust.attestation.LaunchConfiguration;
import org.cloister.trust.attestation.ReportDataBinding;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.nitro.DevelopmentAttestationAuthority;
import org.cloister.trust.attestation.nitro.SimulatedNitroPlatform;
import org.cloister.trust.attestation.snp.SimulatedSnpPlatform;
import org.cloister.trust.attestation.tdx.SimulatedTdxPlatform;

/** The platforms Cloister ships, registered through {@link AttestationPlatformProvider}'s service file. */
public final class BuiltinPlatforms {
  private BuiltinPlatforms() {
  }

  /** {@code simulated}: Nitro-format documents signed by a development root (reported as {@code simulated-nitro}). */
  public static final class Simulated implements AttestationPlatformProvider {
    @Override
    public String name() {
      return "simulated";
    }

    @Override
    public String label() {
      return "simulated-nitro";
    }

    @Override
    public EvidenceSource open(Context c) throws IOException {
      if (c.devRootCert() == null || c.devRootKey() == null) {
        throw new IllegalArgumentException("--platform simulated needs --dev-root-cert and --dev-root-key");
      }
      c.err().println("WARNING: SIMULATED attestation platform: documents are signed by a development root, "
          + "not by Nitro hardware; they prove nothing about isolation. Development only: never with real patient data.");
      DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.load(c.devRootCert(), c.devRootKey(),
          Clock.systemUTC(), new SecureRandom());
      return EvidenceSource.nitro(new SimulatedNitroPlatform(authority, c.moduleId(), c.pcrs()));
    }
  }

  /**
   * {@code simulated-sev-snp}: {@link SimulatedSnpPlatform} (a test double of AMD's hardware) signing reports with
   * launch measurement PCR0 and host_data the launched files' {@link LaunchConfiguration#digest}.
   */
  public static final class SimulatedSevSnp implements AttestationPlatformProvider {
    @Override
    public String name() {
      return AttestationPlatforms.SIMULATED_SNP;
    }

    @Override
    public EvidenceSource open(Context c) throws IOException {
      byte[] secret = doubleSecret(name(), c);
      byte[] measurement = c.pcrs().get(0).clone();
      c.err().println("WARNING: SIMULATED SEV-SNP platform (a test double of AMD's hardware and keys): its reports prove "
          + "nothing about isolation. Development only: never with real patient data.");
      SimulatedSnpPlatform snp;
      try {
        snp = SimulatedSnpPlatform.fromSecret(secret);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot create the simulated SEV-SNP platform: " + e.getMessage(), e);
      }
      byte[] hostData = LaunchConfiguration.digest(TeePlatform.SEV_SNP, c.config(), c.policy());
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
  }

  /**
   * {@code simulated-tdx}: {@link SimulatedTdxPlatform} quoting MRTD = PCR0 and MRCONFIGID = the launched files'
   * digest, served through {@link SimulatedTsmKernel} and read by the production {@link ConfigfsTsm} path.
   */
  public static final class SimulatedTdx implements AttestationPlatformProvider {
    @Override
    public String name() {
      return AttestationPlatforms.SIMULATED_TDX;
    }

    @Override
    public EvidenceSource open(Context c) throws IOException {
      byte[] secret = doubleSecret(name(), c);
      byte[] measurement = c.pcrs().get(0).clone();
      c.err().println("WARNING: SIMULATED TDX platform (a test double of Intel's hardware and PCS): its quotes prove "
          + "nothing about isolation. Development only: never with real patient data.");
      SimulatedTdxPlatform tdx;
      try {
        tdx = SimulatedTdxPlatform.fromSecret(secret);
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot create the simulated TDX platform: " + e.getMessage(), e);
      }
      byte[] mrConfigId = LaunchConfiguration.digest(TeePlatform.TDX, c.config(), c.policy());
      java.nio.file.Path tree = Files.createTempDirectory("cloister-simulated-tsm-");
      tree.toFile().deleteOnExit();
      return EvidenceSource.configfsTsm(new ConfigfsTsm(tree, new SimulatedTsmKernel("tdx_guest",
          reportData -> tdx.quote(reportData, measurement, mrConfigId)), new SecureRandom()));
    }
  }

  /** {@code sev-snp}: configfs-tsm, else {@code /dev/sev-guest} (kernels older than 6.7). */
  public static final class SevSnp implements AttestationPlatformProvider {
    @Override
    public String name() {
      return "sev-snp";
    }

    @Override
    public EvidenceSource open(Context c) throws IOException {
      return confidentialVm(name(), c);
    }
  }

  /** {@code tdx}: configfs-tsm. */
  public static final class Tdx implements AttestationPlatformProvider {
    @Override
    public String name() {
      return "tdx";
    }

    @Override
    public EvidenceSource open(Context c) throws IOException {
      return confidentialVm(name(), c);
    }
  }

  /** {@code nitro}: the Nitro Secure Module ({@code /dev/nsm}). */
  public static final class Nitro implements AttestationPlatformProvider {
    @Override
    public String name() {
      return "nitro";
    }

    @Override
    public EvidenceSource open(Context c) throws IOException {
      if (!Files.exists(c.devices().nsm())) {
        throw new IllegalArgumentException("--platform nitro: no Nitro Secure Module at " + c.devices().nsm()
            + " (this is not a Nitro enclave; for development use --platform simulated)");
      }
      return EvidenceSource.nitro(NitroSecureModule.at(c.devices().nsm()));
    }
  }

  private static byte[] doubleSecret(String name, AttestationPlatformProvider.Context c) throws IOException {
    if (c.devRootKey() == null) {
      throw new IllegalArgumentException("--platform " + name + " needs --dev-root-key (its keys derive from it)");
    }
    if (c.config() == null || c.policy() == null) {
      throw new IllegalArgumentException("--platform " + name + " needs the launched configuration and policy (the "
          + "test double binds their digest like the host does)");
    }
    return Files.readAllBytes(c.devRootKey());
  }

  private static EvidenceSource confidentialVm(String name, AttestationPlatformProvider.Context c) throws IOException {
    AttestationPlatforms.Devices devices = c.devices();
    if (Files.isDirectory(devices.tsmRoot())) {
      // the kernel's provider says which platform answered; a verifier pinning the other one refuses it
      return EvidenceSource.confidentialVm(new ConfigfsTsm(devices.tsmRoot(), ConfigfsFiles.kernel(),
          new SecureRandom()));
    }
    if ("sev-snp".equals(name) && Files.exists(devices.sevGuest())) {
      c.err().println("no configfs-tsm at " + devices.tsmRoot() + ": SEV-SNP reports from " + devices.sevGuest()
          + " (kernel older than 6.7)");
      return EvidenceSource.confidentialVm(SevGuest.at(devices.sevGuest()));
    }
    throw new IllegalArgumentException("--platform " + name + ": no configfs-tsm report interface at "
        + devices.tsmRoot() + ("sev-snp".equals(name) ? " and no " + devices.sevGuest() : "")
        + " (this is not a confidential VM, or its kernel is older than 6.7 or configfs is not mounted)");
  }
}
