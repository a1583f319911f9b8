package org.cloister.enclave;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.cloister.enclave.runtime.MeasuredJson;

/**
 * The enclave's configuration, measured into PCR1: who the consortium members are (and the X25519
 * keys the global model is sealed to), and which key broker key protects the stored model.
 * Because it is measured, the untrusted host cannot add a member of its own to read the model,
 * nor point the enclave at a broker it controls (the broker's TLS certificate must chain to the
 * configured CA).
 *
 * @param format    {@value #FORMAT}
 * @param moduleId  the module_id in attestation documents
 * @param members   consortium members (training sites and evaluators)
 * @param keyBroker the key broker
 */
public record EnclaveConfig(
    @JsonProperty("format") String format,
    @JsonProperty("module_id") String moduleId,
    @JsonProperty("members") List<Member> members,
    @JsonProperty("key_broker") KeyBroker keyBroker) {

  public static final String FORMAT = "cloister-enclave-config/v1";
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /**
   * @param id                 the member's identity as the coordinator's transport establishes it
   * @param sealingPublicKey   raw X25519 public key (hex) the global model is sealed to
   */
  public record Member(@JsonProperty("id") String id, @JsonProperty("sealing_public_key") String sealingPublicKey) {
    public Member {
      if (id == null || !ID.matcher(id).matches()) {
        throw new IllegalArgumentException("member id '" + id + "' must be 1..64 characters of [A-Za-z0-9._-]");
      }
      if (sealingPublicKey == null || !sealingPublicKey.matches("[0-9a-fA-F]{64}")) {
        throw new IllegalArgumentException("member " + id + ": sealing_public_key must be 64 hex digits (raw X25519)");
      }
    }

    public byte[] publicKey() {
      return HexFormat.of().parseHex(sealingPublicKey);
    }
  }

  /**
   * @param keyId              the key-encryption key that protects stored models
   * @param caCertificatePem   the CA that issued the broker's TLS server certificate
   * @param serverName         the name the broker's certificate must carry
   */
  public record KeyBroker(@JsonProperty("key_id") String keyId,
                          @JsonProperty("ca_certificate_pem") String caCertificatePem,
                          @JsonProperty("server_name") String serverName) {
    public KeyBroker {
      if (keyId == null || keyId.isBlank()) {
        throw new IllegalArgumentException("key_broker.key_id is missing");
      }
      if (caCertificatePem == null || !caCertificatePem.contains("BEGIN CERTIFICATE")) {
        throw new IllegalArgumentException("key_broker.ca_certificate_pem must be a PEM certificate");
      }
      if (serverName == null || serverName.isBlank()) {
        throw new IllegalArgumentException("key_broker.server_name is missing");
      }
    }
  }

  public EnclaveConfig {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("config format must be '" + FORMAT + "', got '" + format + "'");
    }
    if (moduleId == null || moduleId.isBlank() || moduleId.length() > 256) {
      throw new IllegalArgumentException("module_id must be 1..256 characters");
    }
    if (members == null || members.isEmpty()) {
      throw new IllegalArgumentException("members must list at least one consortium member");
    }
    members = List.copyOf(members);
    Set<String> ids = new HashSet<>();
    for (Member m : members) {
      if (!ids.add(m.id())) {
        throw new IllegalArgumentException("member " + m.id() + " is listed twice");
      }
    }
    if (keyBroker == null) {
      throw new IllegalArgumentException("key_broker is missing");
    }
  }

  /** The member with this id, or null. */
  public Member member(String id) {
    for (Member m : members) {
      if (m.id().equals(id)) {
        return m;
      }
    }
    return null;
  }

  public static EnclaveConfig parse(byte[] json) {
    return MeasuredJson.parse(json, EnclaveConfig.class, "enclave configuration");
  }

  public byte[] toJson() {
    return MeasuredJson.write(this);
  }
}
