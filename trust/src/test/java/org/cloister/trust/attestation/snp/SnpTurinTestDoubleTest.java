package org.cloister.trust.attestation.snp;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.util.Arrays;
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
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.VerifiedEvidence;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The checks after the report signature (Turin's TCB layout and 8-byte chip id, the VCEK's TCB, product and
 * guest policy) on reports signed by a test double of AMD's key hierarchy: no public Turin report exists in the
 * fixtures, and a real report cannot be re-signed with another policy. The double is ours (fresh keys, our
 * ARK-Turin handed to the package-private constructor); nothing of AMD's is imitated beyond the formats.
 */
class SnpTurinTestDoubleTest {
  private static final Instant AT = Instant.parse("2026-01-01T00:00:00Z");
  private static final SecureRandom RANDOM = new SecureRandom(new byte[] {7});
  private static final byte[] HW_ID = HexFormat.of().parseHex("0123456789abcdef");
  private static final byte[] MEASUREMENT = new byte[48];

  private static X509Certificate ark;
  private static PrivateKey arkKey;
  private static X509Certificate ask;
  private static PrivateKey askKey;
  private static KeyPair vcekKeys;

  @BeforeAll
  static void hierarchy() throws Exception {
    KeyPair arkKeys = rsa();
    KeyPair askKeys = rsa();
    askKey = askKeys.getPrivate();
    arkKey = arkKeys.getPrivate();
    vcekKeys = p384();
    ark = cert("ARK-Turin", "ARK-Turin", arkKeys.getPublic(), arkKeys.getPrivate(), true, Map.of());
    ask = cert("SEV-Turin", "ARK-Turin", askKeys.getPublic(), arkKeys.getPrivate(), true, Map.of());
    Arrays.fill(MEASUREMENT, (byte) 0x5a);
  }

  /** Turin TCB: fmc 1, bootloader 2, tee 3, snp 4, microcode 0x48. */
  private static X509Certificate vcek(int snpSpl, byte[] hwId, String product) throws Exception {
    return cert("SEV-VCEK", "SEV-Turin", vcekKeys.getPublic(), askKey, false, Map.of(
        "2", new DERIA5String(product), "3.1", new ASN1Integer(2), "3.2", new ASN1Integer(3),
        "3.3", new ASN1Integer(snpSpl), "3.8", new ASN1Integer(0x48), "3.9", new ASN1Integer(1), "4", hwId));
  }

  private static byte[] report(long policy, int family, int model, int signingKey, byte[] chip) throws Exception {
    ByteBuffer b = ByteBuffer.allocate(SnpReport.SIZE).order(ByteOrder.LITTLE_ENDIAN);
    b.putInt(0x00, 3);
    b.putLong(0x08, policy);
    b.putInt(0x34, 1);
    b.putInt(0x48, signingKey << 2);
    b.put(0x90, MEASUREMENT);
    // Turin layout: byte0 FMC, byte1 bootloader, byte2 TEE, byte3 SNP, byte7 microcode
    long tcb = 1L | (2L << 8) | (3L << 16) | (4L << 24) | (0x48L << 56);
    b.putLong(0x38, tcb);
    b.putLong(0x180, tcb);
    b.put(0x188, (byte) family);
    b.put(0x189, (byte) model);
    b.put(0x1A0, chip);
    byte[] r = b.array();
    Signature s = Signature.getInstance("SHA384withECDSA");
    s.initSign(vcekKeys.getPrivate());
    s.update(r, 0, SnpReport.SIGNED_LENGTH);
    ASN1Sequence der = ASN1Sequence.getInstance(s.sign());
    putLe(r, SnpReport.SIGNED_LENGTH, ASN1Integer.getInstance(der.getObjectAt(0)).getValue());
    putLe(r, SnpReport.SIGNED_LENGTH + 72, ASN1Integer.getInstance(der.getObjectAt(1)).getValue());
    return r;
  }

  private static byte[] goodReport() throws Exception {
    return report(0x30000L, 0x1a, 0x02, 0, HW_ID);
  }

  private static SnpVerifier verifier() {
    return new SnpVerifier(Map.of(AmdProduct.TURIN, ark));
  }

  private static Collateral collateral(X509Certificate vcek) {
    return new Collateral(List.of(vcek, ask), List.of(), List.of(), List.of());
  }

  @Test
  void turinReportVerifiesWithItsLayoutAndShortChipId() throws Exception {
    VerifiedEvidence v = verifier().verify(goodReport(), collateral(vcek(4, HW_ID, "Turin-B0")), EvidencePolicy.at(AT));
    assertThat(v.measurements().get("measurement")).isEqualTo(HexFormat.of().formatHex(MEASUREMENT));
    assertThat(v.debug()).isFalse();
  }

  @Test
  void vcekCertifiedForAnotherTcbIsRefused() throws Exception {
    AttestationException e = refusal(goodReport(), collateral(vcek(5, HW_ID, "Turin-B0")), EvidencePolicy.at(AT));
    assertThat(e.reason()).isEqualTo(FailureReason.TCB_MISMATCH);
    assertThat(e.getMessage()).contains("SNP firmware SPL 4").contains("issued for 5");
  }

  @Test
  void vcekOfAnotherChipIsRefused() throws Exception {
    byte[] other = HW_ID.clone();
    other[7] ^= 1;
    assertThat(refusal(goodReport(), collateral(vcek(4, other, "Turin-B0")), EvidencePolicy.at(AT)).reason())
        .isEqualTo(FailureReason.TCB_MISMATCH);
  }

  @Test
  void guestPolicyDebugAndMigrationAgent() throws Exception {
    X509Certificate vcek = vcek(4, HW_ID, "Turin-B0");
    byte[] debug = report(0x30000L | (1L << 19), 0x1a, 0x02, 0, HW_ID);
    assertThat(refusal(debug, collateral(vcek), EvidencePolicy.at(AT)).reason()).isEqualTo(FailureReason.DEBUG_ENCLAVE);
    assertThat(verifier().verify(debug, collateral(vcek), EvidencePolicy.at(AT).withDebugAllowed(true)).debug()).isTrue();
    byte[] ma = report(0x30000L | (1L << 18), 0x1a, 0x02, 0, HW_ID);
    assertThat(refusal(ma, collateral(vcek), EvidencePolicy.at(AT).withDebugAllowed(true)).reason())
        .isEqualTo(FailureReason.POLICY_VIOLATION);
  }

  @Test
  void productMismatchesAreRefused() throws Exception {
    // the CPUID says Milan while the key chains to ARK-Turin
    assertThat(refusal(report(0x30000L, 0x19, 0x01, 0, HW_ID), collateral(vcek(4, HW_ID, "Turin-B0")),
        EvidencePolicy.at(AT)).reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT);
    // the VCEK names Genoa while it chains to ARK-Turin
    assertThat(refusal(goodReport(), collateral(vcek(4, HW_ID, "Genoa")), EvidencePolicy.at(AT)).reason())
        .isEqualTo(FailureReason.UNTRUSTED_ROOT);
  }

  @Test
  void aReportClaimingAVlekNeedsAVlek() throws Exception {
    AttestationException e = refusal(report(0x30000L, 0x1a, 0x02, 1, HW_ID), collateral(vcek(4, HW_ID, "Turin-B0")),
        EvidencePolicy.at(AT));
    assertThat(e.reason()).isEqualTo(FailureReason.MISSING_COLLATERAL);
    assertThat(e.getMessage()).contains("VLEK");
  }

  @Test
  void anArkCrlInTheCollateralIsEnforced() throws Exception {
    X509Certificate vcek = vcek(4, HW_ID, "Turin-B0");
    java.security.cert.X509CRL none = crl(null, "2026-02-01T00:00:00Z");
    java.security.cert.X509CRL revokesAsk = crl(ask.getSerialNumber(), "2026-02-01T00:00:00Z");
    java.security.cert.X509CRL stale = crl(null, "2025-12-01T00:00:00Z");
    assertThat(verifier().verify(goodReport(), new Collateral(List.of(vcek, ask), List.of(none), List.of(), List.of()),
        EvidencePolicy.at(AT)).platform().id()).isEqualTo("sev-snp");
    assertThat(refusal(goodReport(), new Collateral(List.of(vcek, ask), List.of(revokesAsk), List.of(), List.of()),
        EvidencePolicy.at(AT)).reason()).isEqualTo(FailureReason.REVOKED_CERTIFICATE);
    assertThat(refusal(goodReport(), new Collateral(List.of(vcek, ask), List.of(stale), List.of(), List.of()),
        EvidencePolicy.at(AT)).reason()).isEqualTo(FailureReason.EXPIRED_COLLATERAL);
  }

  private static java.security.cert.X509CRL crl(BigInteger revoked, String nextUpdate) throws Exception {
    org.bouncycastle.cert.X509v2CRLBuilder b = new org.bouncycastle.cert.X509v2CRLBuilder(
        new X500Name("CN=ARK-Turin"), Date.from(Instant.parse("2025-11-01T00:00:00Z")));
    b.setNextUpdate(Date.from(Instant.parse(nextUpdate)));
    if (revoked != null) {
      b.addCRLEntry(revoked, Date.from(Instant.parse("2025-11-01T00:00:00Z")), 0);
    }
    return new org.bouncycastle.cert.jcajce.JcaX509CRLConverter().getCRL(
        b.build(new JcaContentSignerBuilder("SHA384withRSA").build(arkKey)));
  }

  @Test
  void thePinnedVerifierDoesNotTrustTheDouble() throws Exception {
    assertThat(refusal(new SnpVerifier(), goodReport(), collateral(vcek(4, HW_ID, "Turin-B0")), EvidencePolicy.at(AT))
        .reason()).isEqualTo(FailureReason.UNTRUSTED_ROOT);
  }

  private static AttestationException refusal(byte[] report, Collateral c, EvidencePolicy p) {
    return refusal(verifier(), report, c, p);
  }

  private static AttestationException refusal(SnpVerifier v, byte[] report, Collateral c, EvidencePolicy p) {
    try {
      v.verify(report, c, p);
    } catch (AttestationException e) {
      return e;
    }
    throw new AssertionError("accepted");
  }

  private static void putLe(byte[] r, int off, BigInteger v) {
    byte[] be = v.toByteArray();
    for (int i = 0; i < be.length && i < 72; i++) {
      r[off + i] = be[be.length - 1 - i];
    }
  }

  private static KeyPair rsa() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
    g.initialize(2048, RANDOM);
    return g.generateKeyPair();
  }

  private static KeyPair p384() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp384r1"), RANDOM);
    return g.generateKeyPair();
  }

  private static X509Certificate cert(String subject, String issuer, PublicKey key, PrivateKey signer, boolean ca,
      Map<String, Object> amd) throws Exception {
    JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(new X500Name("CN=" + issuer),
        BigInteger.valueOf(RANDOM.nextInt(1 << 30)), Date.from(Instant.parse("2024-01-01T00:00:00Z")),
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
