package org.cloister.trust.attestation;

import java.time.Instant;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Platform-neutral claims of evidence whose signature, certificate chain, collateral and policy were verified.
 *
 * @param platform the kind of TEE that produced the evidence
 * @param measurements named measurement registers in the platform's order, lowercase hex (SEV-SNP
 *     {@code measurement}, {@code host_data}; TDX {@code mr_td}, {@code rtmr0}..{@code rtmr3},
 *     {@code mr_config_id}, {@code mr_owner}, {@code mr_owner_config}; Nitro {@code pcr0}..)
 * @param reportData the 64 bytes the guest bound into the report (SEV-SNP, TDX) or the Nitro user data, if any
 * @param tcb the vendor's TCB rating where the platform has one (TDX), else empty
 * @param debug whether the evidence comes from a debuggable guest (possible only if the policy allowed it)
 * @param time when the platform produced the evidence, where it says so (Nitro), else empty
 * @param publicKey the public key the evidence binds, where the format has such a field (Nitro)
 */
public record VerifiedEvidence(
    TeePlatform platform,
    Map<String, String> measurements,
    Optional<byte[]> reportData,
    Optional<TcbStatus> tcb,
    boolean debug,
    Optional<Instant> time,
    Optional<byte[]> publicKey) {

  public VerifiedEvidence {
    Objects.requireNonNull(platform, "platform");
    measurements = Collections.unmodifiableMap(new LinkedHashMap<>(measurements));
    reportData = reportData.map(byte[]::clone);
    publicKey = publicKey.map(byte[]::clone);
    Objects.requireNonNull(tcb, "tcb");
    Objects.requireNonNull(time, "time");
  }

  @Override
  public Optional<byte[]> reportData() {
    return reportData.map(byte[]::clone);
  }

  @Override
  public Optional<byte[]> publicKey() {
    return publicKey.map(byte[]::clone);
  }

  /** The named measurement's value, if the evidence has it. */
  public Optional<byte[]> measurement(String name) {
    return Optional.ofNullable(measurements.get(name)).map(HexFormat.of()::parseHex);
  }

  @Override
  public String toString() {
    return "VerifiedEvidence[" + platform.id() + ", measurements=" + measurements.keySet() + ", tcb="
        + tcb.map(TcbStatus::status).orElse("-") + ", debug=" + debug + "]";
  }
}
