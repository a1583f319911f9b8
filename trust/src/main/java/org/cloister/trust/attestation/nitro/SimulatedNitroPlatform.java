package org.cloister.trust.attestation.nitro;

import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.cloister.trust.attestation.AttestationPlatform;

/**
 * An {@link AttestationPlatform} for development machines: documents in the Nitro format signed by a
 * {@link DevelopmentAttestationAuthority}, with fixed simulated PCRs (see {@link SimulatedPcrs}).
 * A real Nitro implementation would instead send the NSM an Attestation request over {@code /dev/nsm}.
 */
public final class SimulatedNitroPlatform implements AttestationPlatform {
  private final DevelopmentAttestationAuthority authority;
  private final String moduleId;
  private final Map<Integer, byte[]> pcrs;

  public SimulatedNitroPlatform(DevelopmentAttestationAuthority authority, String moduleId, Map<Integer, byte[]> pcrs) {
    this.authority = Objects.requireNonNull(authority, "authority");
    this.moduleId = Objects.requireNonNull(moduleId, "moduleId");
    TreeMap<Integer, byte[]> copy = new TreeMap<>();
    pcrs.forEach((k, v) -> copy.put(k, v.clone()));
    this.pcrs = copy;
  }

  @Override
  public byte[] attestationDocument(byte[] nonce, byte[] userData, byte[] publicKey) {
    return authority.issue(moduleId, pcrs, nonce, userData, publicKey);
  }
}
