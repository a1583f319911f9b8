package org.cloister.trust.attestation.snp;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DERIA5String;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * TEST DOUBLE of AMD SEV-SNP hardware, for development machines and tests (no SEV-SNP CPU here): a key
 * hierarchy of our own (ARK-Turin, ASK, VCEK; fresh keys from a seed) and a "firmware" that signs Turin-layout
 * version-3 reports with the VCEK over the report data a guest asks for. Nothing of AMD's is imitated beyond the
 * formats. The verifiers anchored in the pinned AMD roots refuse its reports; only {@link SnpVerifier#development} (with {@link #ark()}) trusts it,
 * which proves nothing about isolation: never with real patient data.
 */
public final class SimulatedSnpPlatform {
  public static final byte[] HW_ID = HexFormat.of().parseHex("0123456789abcdef");
  /** Guest policy: SMT allowed, reserved bit 17; not debug, no migration agent. */
  public static final long POLICY = 0x30000L;
  private final SecureRandom random;
  private final X509Certificate ark;
  private final X509Certificate ask;
  private final X509Certificate vcek;
  private final KeyPair vcekKeys;

  public SimulatedSnpPlatform(long seed) throws java.security.GeneralSecurityException {
    random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(seed);
    KeyPair arkKeys = rsa();
    KeyPair askKeys = rsa();
    vcekKeys = p384();
    ark = cert("ARK-Turin", "ARK-Turin", arkKeys.getPublic(), arkKeys.getPrivate(), true, Map.of());
    ask = cert("SEV-Turin", "ARK-Turin", askKeys.getPublic(), arkKeys.getPrivate(), true, Map.of());
    vcek = cert("SEV-VCEK", "SEV-Turin", vcekKeys.getPublic(), askKeys.getPrivate(), false, Map.of(
        "2", new DERIA5String("Turin-B0"), "3.1", new ASN1Integer(2), "3.2", new ASN1Integer(3),
        "3.3", new ASN1Integer(4), "3.8", new ASN1Integer(0x48), "3.9", new ASN1Integer(1), "4", HW_ID));
  }

  /**
   * The double whose keys derive from {@code secret} (SHA-256, first 8 bytes as the seed): the enclave process
   * and the parties of a development consortium share the file, so they agree on the double's ARK.
   */
  public static SimulatedSnpPlatform fromSecret(byte[] secret) throws java.security.GeneralSecurityException {
    byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(secret);
    return new SimulatedSnpPlatform(ByteBuffer.wrap(d).getLong());
  }

  /**
   * The VCEK (first) and ASK, as a collateral folder would hold them (a verifier wraps them in its
   * {@code Collateral}; this double does not name that verifier-side type, so an enclave image that
   * carries the double does not carry it either).
   */
  public List<X509Certificate> chain() {
    return List.of(vcek, ask);
  }

  /** A report signed by the VCEK binding {@code reportData} (64 bytes) for a guest measured {@code measurement}. */
  public byte[] report(byte[] reportData, byte[] measurement, long policy) throws java.security.GeneralSecurityException {
    return report(reportData, measurement, policy, new byte[32]);
  }

  /** Same, for a guest the host launched with {@code hostData} (32 bytes). */
  public byte[] report(byte[] reportData, byte[] measurement, long policy, byte[] hostData)
      throws java.security.GeneralSecurityException {
    if (hostData.length != 32) {
      throw new IllegalArgumentException("host_data is 32 bytes, got " + hostData.length);
    }
    ByteBuffer b = ByteBuffer.allocate(SnpReport.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x00, 3);
    b.putLong(0x08, policy);
    b.putInt(0x34, 1);
    b.putInt(0x48, 0);
    b.put(0x50, reportData);
    b.put(0x90, measurement);
    b.put(0xC0, hostData);
    long tcb = 1L | (2L << 8) | (3L << 16) | (4L << 24) | (0x48L << 56);
    b.putLong(0x38, tcb);
    b.putLong(0x180, tcb);
    b.put(0x188, (byte) 0x1a);
    b.put(0x189, (byte) 0x02);
    b.put(0x1A0, HW_ID);
    byte[] r = b.array();
    Signature s = Signature.getInstance("SHA384withECDSA");
    s.initSign(vcekKeys.getPrivate());
    s.update(r, 0, SnpReport.SIGNED_LENGTH);
    ASN1Sequence der = ASN1Sequence.getInstance(s.sign());
    putLe(r, SnpReport.SIGNED_LENGTH, ASN1Integer.getInstance(der.getObjectAt(0)).getValue());
    putLe(r, SnpReport.SIGNED_LENGTH + 72, ASN1Integer.getInstance(der.getObjectAt(1)).getValue());
    return r;
  }

  /** This double's root (ARK-Turin), as a party's development configuration would pin it. */
  public X509Certificate ark() {
    return ark;
  }

  /** The VCEK (first) and ASK, DER-encoded, as an enclave may send them beside its report. */
  public java.util.List<byte[]> chainDer() {
    try {
      return java.util.List.of(vcek.getEncoded(), ask.getEncoded());
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void putLe(byte[] r, int off, BigInteger v) {
    byte[] be = v.toByteArray();
    for (int i = 0; i < be.length && i < 72; i++) {
      r[off + i] = be[be.length - 1 - i];
    }
  }

  private KeyPair rsa() throws java.security.GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048, random);
    return g.generateKeyPair();
  }

  private KeyPair p384() throws java.security.GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"), random);
    return g.generateKeyPair();
  }

  private X509Certificate cert(String subject, String issuer, PublicKey key, PrivateKey signer, boolean ca,
      Map<String, Object> amd) throws java.security.GeneralSecurityException {
    try {
      return certOrThrow(subject, issuer, key, signer, ca, amd);
    } catch (org.bouncycastle.cert.CertIOException | org.bouncycastle.operator.OperatorCreationException e) {
      throw new java.security.GeneralSecurityException("cannot build the simulated AMD certificate " + subject, e);
    }
  }

  private X509Certificate certOrThrow(String subject, String issuer, PublicKey key, PrivateKey signer, boolean ca,
      Map<String, Object> amd) throws java.security.GeneralSecurityException, org.bouncycastle.cert.CertIOException,
      org.bouncycastle.operator.OperatorCreationException {
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + issuer),
        BigInteger.valueOf(random.nextInt(1 << 30)), Date.from(Instant.parse("2024-01-01T00:00:00Z")),
        Date.from(Instant.parse("2031-01-01T00:00:00Z")), new X500Name("CN=" + subject), key);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
    for (Map.Entry<String, Object> e : amd.entrySet()) {
      ASN1ObjectIdentifier oid = new ASN1ObjectIdentifier("1.3.6.1.4.1.3704.1." + e.getKey());
      if (e.getValue() instanceof byte[] raw) {
        b.addExtension(oid, false, raw); // AMD's hwID: the raw chip id as extnValue
      } else {
        b.addExtension(oid, false, (org.bouncycastle.asn1.ASN1Encodable) e.getValue());
      }
    }
    String alg = signer.getAlgorithm().equals("RSA") ? "SHA384withRSA" : "SHA384withECDSA";
    return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer)));
  }
}
