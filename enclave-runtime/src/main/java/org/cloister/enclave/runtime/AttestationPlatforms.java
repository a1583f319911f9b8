package org.cloister.enclave.runtime;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.ServiceLoader;
import java.util.TreeMap;
import org.cloister.enclave.runtime.tee.ConfigfsTsm;
import org.cloister.enclave.runtime.tee.NitroSecureModule;
import org.cloister.enclave.runtime.tee.SevGuest;

/**
 * The attestation platforms installed in an enclave process ({@link AttestationPlatformProvider} plug-ins found by
 * {@link ServiceLoader}, the built-ins among them: {@code simulated}, {@code simulated-sev-snp},
 * {@code simulated-tdx}, {@code nitro}, {@code sev-snp}, {@code tdx}), chosen by its {@code --platform} option.
 * Two plug-ins claiming one name are an error naming both (never "the first one wins"); an unknown name is an
 * error naming the installed ones.
 */
public final class AttestationPlatforms {
  /** The SEV-SNP test double's platform option. */
  public static final String SIMULATED_SNP = "simulated-sev-snp";
  /** The TDX test double's platform option. */
  public static final String SIMULATED_TDX = "simulated-tdx";

  private final Map<String, AttestationPlatformProvider> byName = new TreeMap<>();

  /** The given platforms; two with one name are refused. */
  public AttestationPlatforms(List<? extends AttestationPlatformProvider> platforms) {
    for (AttestationPlatformProvider p : platforms) {
      String name = Objects.requireNonNull(p.name(), p.getClass().getName() + ".name()");
      AttestationPlatformProvider before = byName.putIfAbsent(name, p);
      if (before != null) {
        throw new IllegalStateException("two attestation platforms named '" + name + "' are installed: "
            + before.getClass().getName() + " and " + p.getClass().getName() + " (remove one from the class path)");
      }
    }
  }

  /** The platforms on this process's class path. */
  public static AttestationPlatforms installed() {
    return new AttestationPlatforms(ServiceLoader.load(AttestationPlatformProvider.class, AttestationPlatforms.class.getClassLoader())
        .stream().map(ServiceLoader.Provider::get).toList());
  }

  /** The installed platforms' names, sorted. */
  public List<String> names() {
    return List.copyOf(byName.keySet());
  }

  /**
   * The platform named {@code name}.
   *
   * @throws IllegalArgumentException naming the installed platforms
   */
  public AttestationPlatformProvider platform(String name) {
    AttestationPlatformProvider p = name == null ? null : byName.get(name);
    if (p == null) {
      throw new IllegalArgumentException("unknown --platform '" + name + "' (installed: " + String.join(", ", names())
          + ")");
    }
    return p;
  }

  /** Opens the platform named {@code name}. */
  public EvidenceSource open(String name, AttestationPlatformProvider.Context context) throws IOException {
    return platform(name).open(context);
  }

  /** The name enclaves report for a platform option (e.g. {@code simulated-nitro} for {@code simulated}). */
  public static String label(String option) {
    try {
      return installed().platform(option).label();
    } catch (IllegalArgumentException e) {
      return option;
    }
  }

  /**
   * Opens an installed platform with the launched configuration and policy (which the confidential-VM test
   * doubles {@code simulated-sev-snp} and {@code simulated-tdx} bind, as an honest host does:
   * {@link org.cloister.trust.attestation.LaunchConfiguration#digest}).
   */
  public static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                                    Map<Integer, byte[]> pcrs, byte[] config, byte[] policy, PrintStream err)
      throws IOException {
    return installed().open(name, new AttestationPlatformProvider.Context(devRootCert, devRootKey, moduleId, pcrs, config,
        policy, err, Devices.DEFAULT));
  }

  /**
   * @param name        an installed platform: {@code simulated} (development root given by its certificate and key),
   *                    {@code nitro} (the Nitro Secure Module, {@code /dev/nsm}), {@code sev-snp} (configfs-tsm,
   *                    else {@code /dev/sev-guest}) or {@code tdx} (configfs-tsm), or a plug-in; a missing device is
   *                    an error, never a fall back to a simulated platform
   * @param devRootCert development root certificate (simulated only), or null
   * @param devRootKey  its private key (simulated only), or null
   * @param err         where the simulated platform's warning banner goes
   */
  public static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                                    Map<Integer, byte[]> pcrs, PrintStream err) throws IOException {
    return open(name, devRootCert, devRootKey, moduleId, pcrs, err, Devices.DEFAULT);
  }

  /** Same, with the configfs-tsm report directory given (sev-snp, tdx). */
  static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                             Map<Integer, byte[]> pcrs, PrintStream err, Path tsmRoot) throws IOException {
    return open(name, devRootCert, devRootKey, moduleId, pcrs, err, new Devices(tsmRoot, SevGuest.DEFAULT_DEVICE,
        NitroSecureModule.DEFAULT_DEVICE));
  }

  /** Same, with the devices given. */
  static EvidenceSource open(String name, Path devRootCert, Path devRootKey, String moduleId,
                             Map<Integer, byte[]> pcrs, PrintStream err, Devices devices) throws IOException {
    return installed().open(name, new AttestationPlatformProvider.Context(devRootCert, devRootKey, moduleId, pcrs, null, null,
        err, devices));
  }

  /**
   * Where the hardware interfaces are: the configfs-tsm report directory, the sev-guest device, the NSM device.
   */
  public record Devices(Path tsmRoot, Path sevGuest, Path nsm) {
    /** The kernel's standard locations. */
    public static final Devices DEFAULT = new Devices(ConfigfsTsm.DEFAULT_ROOT, SevGuest.DEFAULT_DEVICE,
        NitroSecureModule.DEFAULT_DEVICE);
  }
}
