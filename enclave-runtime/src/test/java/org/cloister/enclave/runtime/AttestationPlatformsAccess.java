package org.cloister.enclave.runtime;

import java.nio.file.Path;

/** Test access to the package-private {@link AttestationPlatforms#open} with a configfs-tsm root. */
public final class AttestationPlatformsAccess {
  private AttestationPlatformsAccess() {
  }

  public static EvidenceSource open(String name, Path tsmRoot) throws java.io.IOException {
    return AttestationPlatforms.open(name, null, null, "m", java.util.Map.of(), System.err, tsmRoot);
  }

  /** With every device path given (configfs-tsm root, sev-guest device, NSM device). */
  public static EvidenceSource open(String name, Path tsmRoot, Path sevGuest, Path nsm, java.io.PrintStream err)
      throws java.io.IOException {
    return AttestationPlatforms.open(name, null, null, "m", java.util.Map.of(), err,
        new AttestationPlatforms.Devices(tsmRoot, sevGuest, nsm));
  }
}
