package org.cloister.inference.enclave;

import com.fasterxml.jackson.annotation.JsonProperty;
import org.cloister.enclave.runtime.MeasuredJson;

/**
 * The inference enclave's configuration, measured into PCR1: its module id and the key broker
 * (key id, the CA of the broker's TLS certificate, its name), so the host can neither point it at a
 * broker of its own nor at another key.
 *
 * @param format               {@value #FORMAT}
 * @param moduleId             module_id in attestation documents
 * @param keyId                the key-encryption key the model's data key is wrapped with
 * @param brokerCaPem          CA certificate (PEM) that issued the broker's TLS certificate
 * @param brokerServerName     name the broker's certificate must carry
 */
public record InferenceConfig(@JsonProperty("format") String format,
                              @JsonProperty("module_id") String moduleId,
                              @JsonProperty("key_id") String keyId,
                              @JsonProperty("broker_ca_certificate_pem") String brokerCaPem,
                              @JsonProperty("broker_server_name") String brokerServerName) {
  public static final String FORMAT = "cloister-inference-config/v1";

  public InferenceConfig {
    if (!FORMAT.equals(format)) {
      throw new IllegalArgumentException("inference config format must be '" + FORMAT + "', got '" + format + "'");
    }
    if (moduleId == null || moduleId.isBlank() || moduleId.length() > 256) {
      throw new IllegalArgumentException("inference config: module_id must be 1..256 characters");
    }
    if (keyId == null || keyId.isBlank()) {
      throw new IllegalArgumentException("inference config: key_id is missing");
    }
    if (brokerCaPem == null || !brokerCaPem.contains("BEGIN CERTIFICATE")) {
      throw new IllegalArgumentException("inference config: broker_ca_certificate_pem must be a PEM certificate");
    }
    if (brokerServerName == null || brokerServerName.isBlank()) {
      throw new IllegalArgumentException("inference config: broker_server_name is missing");
    }
  }

  public static InferenceConfig parse(byte[] json) {
    return MeasuredJson.parse(json, InferenceConfig.class, "inference config");
  }

  public byte[] toJson() {
    return MeasuredJson.write(this);
  }
}
