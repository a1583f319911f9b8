package org.cloister.enclave.runtime;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.spec.ECGenParameterSpec;
import org.cloister.trust.attestation.EnclaveSignatures;

/**
 * The enclave's attested signing key (ECDSA P-256), generated at start in enclave memory: the
 * private key never leaves the process and dies with it, so a restarted enclave has a new key and
 * nothing signed by an earlier instance verifies under it. Its public key goes into every
 * attestation document the enclave produces ({@link #attestationUserData()}); verifiers get it from
 * a verified document with {@link EnclaveSignatures#signingKey}. Thread-safe.
 */
public final class EnclaveSigner {
  private final KeyPair pair;

  private EnclaveSigner(KeyPair pair) {
    this.pair = pair;
  }

  /** A fresh key pair from {@code random}. */
  public static EnclaveSigner generate(SecureRandom random) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      return new EnclaveSigner(g.generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("cannot generate the enclave signing key: " + e.getMessage(), e);
    }
  }

  public PublicKey publicKey() {
    return pair.getPublic();
  }

  /** The user_data of this enclave's attestation documents: binds {@link #publicKey()}. */
  public byte[] attestationUserData() {
    return EnclaveSignatures.userData(pair.getPublic());
  }

  /** Signs {@code message} for {@code purpose} (domain-separated; see {@link EnclaveSignatures}). */
  public byte[] sign(String purpose, byte[] message) {
    return EnclaveSignatures.sign(pair.getPrivate(), purpose, message);
  }
}
