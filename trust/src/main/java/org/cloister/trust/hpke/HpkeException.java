package org.cloister.trust.hpke;

import java.security.GeneralSecurityException;

/** HPKE sealing or opening failed: bad key, wrong recipient, or altered enc, aad, info or ciphertext. */
public final class HpkeException extends GeneralSecurityException {
  private static final long serialVersionUID = 1L;

  public HpkeException(String message) {
    super(message);
  }

  public HpkeException(String message, Throwable cause) {
    super(message, cause);
  }
}
