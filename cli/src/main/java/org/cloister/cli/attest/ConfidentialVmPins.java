package org.cloister.cli.attest;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.LinkedHashMap;
import java.util.Map;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidenceVerifiers;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.pki.Pem;

/** A command's verifier for an enclave on SEV-SNP or TDX, from a measurements file and a collateral folder. */
public final class ConfidentialVmPins {
  private ConfidentialVmPins() {
  }

  /**
   * @param measurements   a {@code cloister-measurements/v1} file pinning sev-snp or tdx measurements
   * @param collateralDir  the collateral folder, or null (then the enclave's own collateral must suffice)
   * @param developmentArk DEVELOPMENT: the SEV-SNP test double's root instead of AMD's (a warning is printed), or null
   * @throws IOException naming the file that is wrong
   * @throws IllegalArgumentException when the file pins Nitro measurements
   */
  public static BoundEvidenceVerifier verifier(Path measurements, Path collateralDir, Path developmentArk,
                                               PrintWriter err) throws IOException {
    return verifier(measurements, collateralDir, developmentArk, null, err);
  }

  /**
   * Same, with {@code developmentIntelRoot}: DEVELOPMENT, the TDX test double's root instead of Intel's (a warning
   * is printed), or null.
   */
  public static BoundEvidenceVerifier verifier(Path measurements, Path collateralDir, Path developmentArk,
                                               Path developmentIntelRoot, PrintWriter err) throws IOException {
    MeasurementPins pins = MeasurementPins.read(measurements);
    if (pins.platform() == TeePlatform.NITRO) {
      throw new IllegalArgumentException(measurements + " pins Nitro PCRs: a Nitro enclave is verified with its "
          + "trust root and expected PCRs");
    }
    Collateral collateral = collateralDir == null ? Collateral.empty() : Collateral.readDirectory(collateralDir);
    Map<TeePlatform, X509Certificate> development = new LinkedHashMap<>();
    developmentRoot(development, TeePlatform.SEV_SNP, developmentArk, "AMD's", err);
    developmentRoot(development, TeePlatform.TDX, developmentIntelRoot, "Intel's", err);
    err.flush();
    return new BoundEvidenceVerifier(EvidenceVerifiers.installed().confidentialVm(development), pins, collateral);
  }

  private static void developmentRoot(Map<TeePlatform, X509Certificate> into, TeePlatform platform, Path file,
                                      String instead, PrintWriter err) throws IOException {
    if (file == null) {
      return;
    }
    X509Certificate root = Pem.readCertificate(file);
    err.println("WARNING: trusting the " + platform.id().toUpperCase(java.util.Locale.ROOT) + " TEST DOUBLE's root ("
        + root.getSubjectX500Principal().getName() + ") instead of " + instead + ": its evidence proves nothing about "
        + "isolation. Development only.");
    into.put(platform, root);
  }
}
