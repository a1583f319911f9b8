package org.cloister.trust.attestation.tdx;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import org.cloister.trust.pki.Pem;

/**
 * The Intel SGX Root CA, pinned in this module (it also roots TDX: PCK certificates, the TCB signing certificate
 * and the PCS CRLs). Intermediates are never pinned: Intel rotates them (the TCB signing certificate in 2025).
 */
public final class IntelSgxRoot {
  static final String SHA256 = "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3";
  private static final String RESOURCE = "intel-sgx-root-ca.der";

  private IntelSgxRoot() {}

  /** The pinned root; its SHA-256 is checked against the constant compiled in here. */
  public static X509Certificate certificate() {
    try (InputStream in = IntelSgxRoot.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("missing pinned Intel root " + RESOURCE);
      }
      X509Certificate c = Pem.parseCertificates(in.readAllBytes(), RESOURCE).get(0);
      String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
      if (!actual.equals(SHA256)) {
        throw new IllegalStateException("pinned Intel SGX Root CA has SHA-256 " + actual);
      }
      return c;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }
}
