package org.cloister.enclave.runtime;

import java.io.IOException;
import java.util.Objects;
import org.cloister.enclave.runtime.tee.ConfigfsTsm;
import org.cloister.enclave.runtime.tee.ReportDevice;
import org.cloister.protocol.EvidenceWire;
import org.cloister.protocol.v1.Evidence;
import org.cloister.trust.attestation.AttestationPlatform;
import org.cloister.trust.attestation.ReportDataBinding;

/**
 * Where an enclave process gets the evidence binding a verifier's nonce, its HPKE public key and its user data
 * (the secure aggregator's signing key, the inference enclave's served model; none towards the key broker):
 * a Nitro document (the simulated platform, or the NSM), or a SEV-SNP report / TDX quote over
 * {@link ReportDataBinding} with the key and user data sent beside it.
 */
public interface EvidenceSource {

  /**
   * @throws IllegalStateException when the platform does not answer (the message names what failed)
   */
  Evidence evidence(byte[] nonce, byte[] userData, byte[] publicKey);

  /** Nitro-format documents from {@code platform}. */
  static EvidenceSource nitro(AttestationPlatform platform) {
    return new Nitro(platform);
  }

  /** Nitro-format documents (simulated or NSM); {@link #platform()} also serves the documents receipts embed. */
  record Nitro(AttestationPlatform platform) implements EvidenceSource {
    public Nitro {
      Objects.requireNonNull(platform, "platform");
    }

    @Override
    public Evidence evidence(byte[] nonce, byte[] userData, byte[] publicKey) {
      return EvidenceWire.nitro(platform.attestationDocument(nonce, userData, publicKey));
    }
  }

  /** SEV-SNP or TDX evidence through configfs-tsm; the platform is the one the kernel's provider names. */
  static EvidenceSource configfsTsm(ConfigfsTsm tsm) {
    return confidentialVm(tsm);
  }

  /**
   * SEV-SNP or TDX evidence from {@code device} (configfs-tsm, or {@code /dev/sev-guest} on older kernels) over
   * {@link ReportDataBinding#reportData} of the verifier's nonce, the key and the user data, sent beside them.
   */
  static EvidenceSource confidentialVm(ReportDevice device) {
    Objects.requireNonNull(device, "device");
    return (nonce, userData, publicKey) -> {
      try {
        ConfigfsTsm.Report r = device.report(ReportDataBinding.reportData(nonce, publicKey, userData));
        return EvidenceWire.confidentialVm(r.platform(), r.evidence(), r.certificates(), publicKey, userData);
      } catch (IOException e) {
        throw new IllegalStateException("cannot obtain evidence from the confidential VM: " + e.getMessage(), e);
      }
    };
  }
}
