package org.cloister.cli.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import java.util.List;

/** A party's {@code tls:} block: its certificate chain, private key and the consortium CA (paths relative to the file). */
public record TlsSection(
    @JsonProperty(value = "certificate", required = true) String certificate,
    @JsonProperty(value = "private_key", required = true) String privateKey,
    @JsonProperty(value = "trust_root", required = true) String trustRoot,
    @JsonProperty("revoked_serials") List<String> revokedSerials) {
  public TlsSection {
    revokedSerials = revokedSerials == null ? List.of() : List.copyOf(revokedSerials);
  }
}
