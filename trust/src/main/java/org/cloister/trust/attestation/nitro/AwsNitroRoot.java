package org.cloister.trust.attestation.nitro;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.HexFormat;

/**
 * The AWS Nitro Enclaves Root G1 certificate, pinned: shipped in this module's resources and checked
 * against its published SHA-256 fingerprint every time it is loaded.
 */
public final class AwsNitroRoot {
  /** SHA-256 of the DER encoding of the AWS Nitro Enclaves Root G1 certificate, as AWS publishes it. */
  public static final String SHA256_FINGERPRINT =
      "641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b";

  private static final String RESOURCE = "aws-nitro-root-g1.der";

  private AwsNitroRoot() {}

  /**
   * Loads the pinned root.
   *
   * @throws IllegalStateException if the resource is missing or its fingerprint differs from the pin
   */
  public static X509Certificate certificate() {
    try (InputStream in = AwsNitroRoot.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("pinned AWS Nitro root certificate resource " + RESOURCE + " is missing");
      }
      return pinned(in.readAllBytes(), SHA256_FINGERPRINT);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read pinned AWS Nitro root certificate", e);
    }
  }

  /** Parses {@code der} after checking that its SHA-256 equals {@code expectedSha256Hex}. */
  static X509Certificate pinned(byte[] der, String expectedSha256Hex) {
    byte[] actual;
    try {
      actual = MessageDigest.getInstance("SHA-256").digest(der);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
    if (!MessageDigest.isEqual(actual, HexFormat.of().parseHex(expectedSha256Hex))) {
      throw new IllegalStateException("trust root fingerprint mismatch: SHA-256 is " + HexFormat.of().formatHex(actual)
          + ", pinned " + expectedSha256Hex);
    }
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IllegalStateException("pinned trust root is not a certificate", e);
    }
  }
}
