package org.cloister.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.cloister.cli.attest.ConfidentialVmPins;
import org.cloister.consortium.ReceiptVerifier;
import org.cloister.consortium.SecureAggregationSetup;
import org.cloister.trust.attestation.nitro.NitroAttestationVerifier;
import org.cloister.trust.pki.Pem;
import picocli.CommandLine;

/**
 * The {@link ReceiptVerifier} the commands that check the enclave's receipts build: {@code receipts verify}
 * and {@code budget report} from a Nitro attestation root and the consortium's expected PCRs,
 * {@code model export|evaluate} from a member's kit (its pins, Nitro or SEV-SNP/TDX).
 */
final class ReceiptVerifiers {
  /** The consortium's expected PCRs, as {@code provision} writes them. */
  static final String PCRS_FILE = "expected-pcrs.json";

  private ReceiptVerifiers() {
  }

  /**
   * Nitro documents chaining to {@code root} (option {@code rootOption}) with the PCRs of {@code expectedPcrs},
   * or, when that is null, of the {@value #PCRS_FILE} beside the root or in its parent folder.
   */
  static ReceiptVerifier nitro(CommandLine cl, String rootOption, Path root, Path expectedPcrs) {
    Path pcrs = expectedPcrs != null ? expectedPcrs : locatePcrs(root);
    if (pcrs == null) {
      throw new CommandLine.ParameterException(cl, "--expected-pcrs: no " + PCRS_FILE + " beside " + root
          + " or in its parent folder; name the consortium's file");
    }
    try {
      return new ReceiptVerifier(new NitroAttestationVerifier(Pem.readCertificate(root)), SecureAggregationSetup.readPcrs(pcrs));
    } catch (IOException | IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, rootOption + ": " + e.getMessage());
    }
  }

  /**
   * A member's kit's pins: {@code expected-measurements.json} (SEV-SNP/TDX, with the kit's collateral), or
   * {@value #PCRS_FILE} with {@code attestation-root.crt} (AWS Nitro's root when the kit has none).
   */
  static ReceiptVerifier ofKit(CommandLine cl, Path kit) {
    try {
      if (Files.isRegularFile(kit.resolve("expected-measurements.json"))) {
        return new ReceiptVerifier(ConfidentialVmPins.verifier(kit.resolve("expected-measurements.json"),
            kit.resolve("collateral"), null, cl.getErr()));
      }
      return new ReceiptVerifier(Files.isRegularFile(kit.resolve("attestation-root.crt"))
          ? new NitroAttestationVerifier(Pem.readCertificate(kit.resolve("attestation-root.crt")))
          : NitroAttestationVerifier.withAwsRoot(), SecureAggregationSetup.readPcrs(kit.resolve(PCRS_FILE)));
    } catch (IOException | IllegalArgumentException e) {
      throw new CommandLine.ParameterException(cl, "--kit " + kit + ": " + e.getMessage());
    }
  }

  static Path locatePcrs(Path trustRoot) {
    Path dir = trustRoot.toAbsolutePath().getParent();
    for (Path d = dir; d != null && (d.equals(dir) || d.equals(dir.getParent())); d = d.getParent()) {
      if (Files.isRegularFile(d.resolve(PCRS_FILE))) {
        return d.resolve(PCRS_FILE);
      }
    }
    return null;
  }
}
