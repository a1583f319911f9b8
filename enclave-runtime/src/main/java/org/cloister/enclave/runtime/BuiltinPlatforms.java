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
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(BuiltinPlatforms.class);
  private BuiltinPlatforms() {
  }

  /** {@code simulated}: Nitro-format documents signed by a development root (reported as {@code simulated-nitro}). */
  public static final class Simulated extends Named {
    public Simulated() {
      super("simulated");
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
      org.cloister.trust.attestation.DevelopmentWarning.banner("WARNING: SIMULATED attestation platform: documents are "
          + "signed by a development root, not by Nitro hardware; they prove nothing about isolation. Development only: "
          + "never with real patient data.", c.err(), LOG, System.getenv());
      DevelopmentAttestationAuthority authority = DevelopmentAttestationAuthority.load(c.devRootCert(), c.devRootKey(),
          Clock.systemUTC(), new SecureRandom());
      return EvidenceSource.nitro(new SimulatedNitroPlatform(authority, c.moduleId(), c.pcrs()));
    }
  }

  /**
   * A test double of a confidential-VM platform: keys derived from the development root key, launch measurement
   * PCR0, and the launched files' {@link LaunchConfiguration#digest} bound where the host binds it.
   */
  abstract static class SimulatedConfidentialVm extends Named {
    private final TeePlatform platform;
    private final String warning;

    SimulatedConfidentialVm(String name, TeePlatform platform, String doubleOf, String evidence) {
      super(name);
      this.platform = platform;
      this.warning = "WARNING: SIMULATED " + platform.id().toUpperCase(java.util.Locale.ROOT) + " platform (a test "
          + "double of " + doubleOf + "): its " + evidence + " prove nothing about isolation. Development only: never "
          + "with real patient data.";
    }

    @Override
    public final EvidenceSource open(Context c) throws IOException {
      byte[] secret = doubleSecret(name(), c);
      byte[] measurement = c.pcrs().get(0).clone();
      org.cloister.trust.attestation.DevelopmentWarning.banner(warning, c.err(), LOG, System.getenv());
      try {
        return source(secret, measurement, LaunchConfiguration.digest(platform, c.config(), c.policy()));
      } catch (GeneralSecurityException e) {
        throw new IOException("cannot create the simulated " + platform.id().toUpperCase(java.util.Locale.ROOT)
            + " platform: " + e.getMessage(), e);
      }
    }

    /** The double's evidence source for this launch measurement and launch-configuration digest. */
    abstract EvidenceSource source(byte[] secret, byte[] measurement, byte[] launchDigest)
        throws GeneralSecurityException, IOException;
  }

  /** {@code simulated-sev-snp}: {@link SimulatedSnpPlatform} (a test double of AMD's hardware), host_data the digest. */
  public static final class SimulatedSevSnp extends SimulatedConfidentialVm {
    public SimulatedSevSnp() {
      super(AttestationPlatforms.SIMULATED_SNP, TeePlatform.SEV_SNP, "AMD's hardware and keys", "reports");
    }

    @Override
    EvidenceSource source(byte[] secret, byte[] measurement, byte[] hostData) throws GeneralSecurityException {
      SimulatedSnpPlatform snp = SimulatedSnpPlatform.fromSecret(secret);
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
   * {@code simulated-tdx}: {@link SimulatedTdxPlatform} quoting MRTD = PCR0 and MRCONFIGID = the digest, served
   * through {@link SimulatedTsmKernel} and read by the production {@link ConfigfsTsm} path.
   */
  public static final class SimulatedTdx extends SimulatedConfidentialVm {
    public SimulatedTdx() {
      super(AttestationPlatforms.SIMULATED_TDX, TeePlatform.TDX, "Intel's hardware and PCS", "quotes");
    }

    @Override
    EvidenceSource source(byte[] secret, byte[] measurement, byte[] mrConfigId)
        throws GeneralSecurityException, IOException {
      SimulatedTdxPlatform tdx = SimulatedTdxPlatform.fromSecret(secret);
      java.nio.file.Path tree = Files.createTempDirectory("cloister-simulated-tsm-");
      tree.toFile().deleteOnExit();
      return EvidenceSource.configfsTsm(new ConfigfsTsm(tree, new SimulatedTsmKernel("tdx_guest",
          reportData -> tdx.quote(reportData, measurement, mrConfigId)), new SecureRandom()));
    }
  }

  /** A confidential VM's own evidence through its guest kernel ({@link #confidentialVm}). */
  abstract static class ConfidentialVm extends Named {
    ConfidentialVm(String name) {
      super(name);
    }

    @Override
    public final EvidenceSource open(Context c) throws IOException {
      return confidentialVm(name(), c);
    }
  }

  /** A provider whose name is fixed at construction. */
  abstract static class Named implements AttestationPlatformProvider {
    private final String name;

    Named(String name) {
      this.name = name;
    }

    @Override
    public final String name() {
      return name;
    }
  }

  /** {@code sev-snp}: configfs-tsm, else {@code /dev/sev-guest} (kernels older than 6.7). */
  public static final class SevSnp extends ConfidentialVm {
    public SevSnp() {
      super("sev-snp");
    }
  }

  /** {@code tdx}: configfs-tsm. */
  public static final class Tdx extends ConfidentialVm {
    public Tdx() {
      super("tdx");
    }
  }

  /** {@code nitro}: the Nitro Secure Module ({@code /dev/nsm}). */
  public static final class Nitro extends Named {
    public Nitro() {
      super("nitro");
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
