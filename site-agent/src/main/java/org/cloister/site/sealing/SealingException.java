package org.cloister.site.sealing;

/**
 * The site refuses to send an update or to use a global model: the enclave's attestation did not
 * verify, the relay failed, or a model copy does not open. The site sits the round out; the
 * message says why and never carries values.
 */
public final class SealingException extends RuntimeException {
  public SealingException(String message, Throwable cause) {
    super(message, cause);
  }

  public SealingException(String message) {
    super(message);
  }
}
