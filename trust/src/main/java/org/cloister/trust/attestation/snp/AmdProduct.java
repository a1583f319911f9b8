package org.cloister.trust.attestation.snp;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import org.cloister.trust.pki.Pem;

/**
 * AMD EPYC generations with SEV-SNP, each with its AMD Root Key (ARK) pinned in this module. The ARK signs both
 * the ASK (which signs VCEKs) and the ASVK (which signs VLEKs) of its product.
 */
public enum AmdProduct {
  MILAN("Milan", "ark-milan.pem", "69d063b45344d26a2e94e1f4210de49ef555308287d4c174445c95639a540bcd"),
  GENOA("Genoa", "ark-genoa.pem", "4c6598d19c18719c5dfd4a7d335f674e5bfe1d8f800cea2cf270c10d103db2f1"),
  TURIN("Turin", "ark-turin.pem", "1f084161a44bb6d93778a904877d4819cafa5d05ef4193b2ded9dd9c73dd3f6a");

  private final String displayName;
  private final String resource;
  private final String sha256;
  private volatile X509Certificate ark;

  AmdProduct(String displayName, String resource, String sha256) {
    this.displayName = displayName;
    this.resource = resource;
    this.sha256 = sha256;
  }

  /** AMD's name of the product line, as in the VCEK's productName ("Milan-B0") and KDS URLs. */
  public String displayName() {
    return displayName;
  }

  /** Turin changed the TCB_VERSION layout (an FMC field first) and shortened CHIP_ID to 8 bytes. */
  boolean turinLayout() {
    return this == TURIN;
  }

  /** The pinned ARK; its SHA-256 is checked against the constant compiled in here. */
  public X509Certificate ark() {
    X509Certificate c = ark;
    if (c == null) {
      try (InputStream in = AmdProduct.class.getResourceAsStream(resource)) {
        if (in == null) {
          throw new IllegalStateException("missing pinned AMD root " + resource);
        }
        c = Pem.parseCertificates(in.readAllBytes(), resource).get(0);
        String actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(c.getEncoded()));
        if (!actual.equals(sha256)) {
          throw new IllegalStateException("pinned AMD root " + resource + " has SHA-256 " + actual);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (NoSuchAlgorithmException | java.security.cert.CertificateEncodingException e) {
        throw new IllegalStateException(e);
      }
      ark = c;
    }
    return c;
  }

  /**
   * The product a CPUID family/model names (report version 3 and later), or null when unknown: family 0x19
   * models 0x00-0x0f Milan, 0x10-0x1f and 0xa0-0xaf Genoa; family 0x1a Turin.
   */
  static AmdProduct fromCpuid(int family, int model) {
    if (family == 0x19 && model <= 0x0f) {
      return MILAN;
    }
    if (family == 0x19 && ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) {
      return GENOA;
    }
    if (family == 0x1a) {
      return TURIN;
    }
    return null;
  }
}
