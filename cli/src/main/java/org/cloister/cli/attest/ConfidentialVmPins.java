package org.cloister.cli.attest;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.List;
import org.cloister.trust.attestation.BoundEvidenceVerifier;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.MeasurementPins;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.snp.SnpVerifier;
import org.cloister.trust.attestation.tdx.TdxVerifier;
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
    if (developmentArk == null && developmentIntelRoot == null) {
      return BoundEvidenceVerifier.pinnedRoots(pins, collateral);
    }
    SnpVerifier snp = new SnpVerifier();
    if (developmentArk != null) {
      X509Certificate ark = Pem.readCertificate(developmentArk);
      err.println("WARNING: trusting the SEV-SNP TEST DOUBLE's root (" + ark.getSubjectX500Principal().getName()
          + ") instead of AMD's: its evidence proves nothing about isolation. Development only.");
      snp = SnpVerifier.development(ark);
    }
    TdxVerifier tdx = new TdxVerifier();
    if (developmentIntelRoot != null) {
      X509Certificate root = Pem.readCertificate(developmentIntelRoot);
      err.println("WARNING: trusting the TDX TEST DOUBLE's root (" + root.getSubjectX500Principal().getName()
          + ") instead of Intel's: its evidence proves nothing about isolation. Development only.");
      tdx = TdxVerifier.development(root);
    }
    err.flush();
    return new BoundEvidenceVerifier(List.of(snp, tdx), pins, collateral);
  }
}
