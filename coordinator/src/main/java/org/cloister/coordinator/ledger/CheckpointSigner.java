package org.cloister.coordinator.ledger;

import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Objects;

/**
 * The coordinator's consortium key and certificate, with which it signs a checkpoint of each
 * study's ledger head at every committed round ({@code ledger verify} then detects an entry
 * removed from the end). The certificate's chain must lead to the consortium CA.
 */
public record CheckpointSigner(PrivateKey key, X509Certificate certificate) {
  public CheckpointSigner {
    Objects.requireNonNull(key, "key");
    Objects.requireNonNull(certificate, "certificate");
  }
}
