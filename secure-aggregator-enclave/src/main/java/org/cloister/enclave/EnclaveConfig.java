package org.cloister.enclave;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.cloister.enclave.runtime.MeasuredJson;

/**
 * The enclave's configuration, measured into PCR1: who the consortium members are (their roles and
 * the X25519 keys the global model is sealed to), the consortium CA whose certificates sign the
 * sites' contribution statements, and which key broker key protects the stored model. Because it
 * is measured, the untrusted host cannot add a member of its own to read the model, swap the CA to
 * sign updates under members' names, turn an observer into a training site, nor point the enclave
 * at a broker it controls (the broker's TLS certificate must chain to the configured CA): any such
 * change changes PCR1, and the key broker and the sites refuse the enclave.
 *
 * @param format             {@value #FORMAT}
 * @param moduleId           the module_id in attestation documents
 * @param members            consortium members (training sites and observers)
 * @param consortiumCaPem    the consortium CA (PEM): a contribution counts only when signed by a
 *                           certificate it issued whose common name is a training site's id
 * @param keyBroker          the key broker
 */
public record EnclaveConfig(
    @JsonProperty("format") String format,
    @JsonProperty("module_id") String moduleId,
    @JsonProperty("members") List<Member> members,
    @JsonProperty("consortium_ca_pem") String consortiumCaPem,
    @JsonProperty("key_broker") KeyBroker keyBroker) {

  public static final String FORMAT = "cloister-enclave-config/v2";
  /** A member that trains and sends updates. */
  public static final String ROLE_SITE = "site";
  /** A member that receives the model (evaluates) but never trains: never counts toward the cohort floor. */
  public static final String ROLE_OBSERVER = "observer";
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9._-]{1,64}");

  /**
   * @param id                 the member's identity: its consortium certificate's common name
   * @param role               {@value #ROLE_SITE} (trains) or {@value #ROLE_OBSERVER} (receives models only)
   * @param sealingPublicKey   raw X25519 public key (hex) the global model is sealed to
   */
  public record Member(@JsonProperty("id") String id, @JsonProperty("role") String role,
                       @JsonProperty("sealing_public_key") String sealingPublicKey) {
    public Member {
      if (id == null || !ID.matcher(id).matches()) {
        throw new IllegalArgumentException("member id '" + id + "' must be 1..64 characters of [A-Za-z0-9._-]");
      }
      if (!ROLE_SITE.equals(role) && !ROLE_OBSERVER.equals(role)) {
        throw new IllegalArgumentException("member " + id + ": role must be '" + ROLE_SITE + "' or '" + ROLE_OBSERVER
            + "', got '" + role + "'");
      }
      if (sealingPublicKey == null || !sealingPublicKey.matches("[0-9a-fA-F]{64}")) {
        throw new IllegalArgumentException("member " + id + ": sealing_public_key must be 64 hex digits (raw X25519)");
      }
    }

    public byte[] publicKey() {
      return HexFormat.of().parseHex(sealingPublicKey);
    }

    public boolean trains() {
      return ROLE_SITE.equals(role);
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
    if (consortiumCaPem == null || !consortiumCaPem.contains("BEGIN CERTIFICATE")) {
      throw new IllegalArgumentException("consortium_ca_pem must be the consortium CA's PEM certificate: without it "
          + "the enclave cannot authenticate any site's contribution");
    }
    if (keyBroker == null) {
      throw new IllegalArgumentException("key_broker is missing");
    }
  }

  /** The consortium CA certificate. */
  public java.security.cert.X509Certificate consortiumCa() {
    try {
      return (java.security.cert.X509Certificate) java.security.cert.CertificateFactory.getInstance("X.509")
          .generateCertificate(new java.io.ByteArrayInputStream(
              consortiumCaPem.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    } catch (java.security.cert.CertificateException e) {
      throw new IllegalArgumentException("consortium_ca_pem is not a certificate: " + e.getMessage(), e);
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
