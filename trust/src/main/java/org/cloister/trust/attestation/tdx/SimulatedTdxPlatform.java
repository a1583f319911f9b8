package org.cloister.trust.attestation.tdx;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Sequence;
import org.bouncycastle.asn1.DEROctetString;
import org.bouncycastle.asn1.DERSequence;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.cloister.trust.pki.Pem;

/**
 * TEST DOUBLE of Intel TDX hardware and of Intel's PCS, for development machines and tests (no TDX CPU here): a
 * PKI of our own (a root, a PCK Platform CA, a PCK, a TCB signing certificate; P-256 keys and certificates
 * derived from a seed, so every process holding the same secret builds byte-identical certificates), a "quoting
 * enclave" that signs DCAP v4 quotes over the report data a TD asks for; the collateral a verifier needs (TCB
 * info and QE identity JSON in PCS v4's shape, CRLs) is {@link SimulatedIntelPcs}'s, on the host. Nothing of
 * Intel's is imitated beyond the formats; the root is not Intel's, so {@link TdxVerifier#TdxVerifier()} (anchored in the pinned Intel SGX Root CA) refuses
 * every quote it makes; only {@link TdxVerifier#development} (with {@link #root()}) trusts it, which proves nothing
 * about isolation: never with real patient data.
 */
public final class SimulatedTdxPlatform {
  /** The FMSPC of the double's PCK and TCB info. */
  public static final String FMSPC = "00806f050000";
  /** The TDX module SVN whose quotes Intel's (double's) TCB info rates UpToDate; one less is OutOfDate. */
  public static final int MODULE_SVN_UP_TO_DATE = 3;
  /** The advisory the double's OutOfDate level names. */
  public static final String ADVISORY = "INTEL-SA-TESTDOUBLE";
  private static final String SGX = "1.2.840.113741.1.13.1";
  private static final Instant NOT_BEFORE = Instant.parse("2024-01-01T00:00:00Z");
  private static final Instant NOT_AFTER = Instant.parse("2049-01-01T00:00:00Z");
  private static final byte[] QE_MRSIGNER = new byte[32];
  private static final byte[][] RTMRS = new byte[4][];

  static {
    Arrays.fill(QE_MRSIGNER, (byte) 0x5a);
    try {
      // the double's boot chain: RTMR0..2 as firmware, kernel and command line would extend them; RTMR3 unused
      for (int i = 0; i < 3; i++) {
        RTMRS[i] = MessageDigest.getInstance("SHA-384").digest(("cloister tdx test double rtmr" + i)
            .getBytes(StandardCharsets.US_ASCII));
      }
      RTMRS[3] = new byte[48];
    } catch (GeneralSecurityException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** RTMR {@code i} (0..3) of every quote of the double: what a party pins beside MRTD. */
  public static byte[] rtmr(int i) {
    return RTMRS[i].clone();
  }

  private final SecureRandom random;
  private final KeyPair rootKeys;
  private final KeyPair caKeys;
  private final KeyPair pckKeys;
  private final KeyPair tcbSigningKeys;
  private final KeyPair attestationKeys;
  private final X509Certificate root;
  private final X509Certificate pckCa;
  private final X509Certificate pck;
  private final X509Certificate tcbSigning;

  public SimulatedTdxPlatform(long seed) throws GeneralSecurityException {
    random = SecureRandom.getInstance("SHA1PRNG");
    random.setSeed(seed);
    rootKeys = p256();
    caKeys = p256();
    pckKeys = p256();
    tcbSigningKeys = p256();
    attestationKeys = p256();
    root = cert("Cloister TDX test double SGX Root CA", "Cloister TDX test double SGX Root CA", rootKeys.getPublic(),
        rootKeys.getPrivate(), true, null);
    pckCa = cert("Cloister TDX test double PCK Platform CA", root, caKeys.getPublic(), rootKeys.getPrivate(), true);
    tcbSigning = cert("Intel SGX TCB Signing", root, tcbSigningKeys.getPublic(), rootKeys.getPrivate(), false);
    pck = cert("Intel SGX PCK Certificate", pckCa, pckKeys.getPublic(), caKeys.getPrivate(), false);
  }

  /**
   * The double whose keys derive from {@code secret} (SHA-256, first 8 bytes as the seed): the enclave process and
   * the parties of a development consortium share the file, so they agree on the double's root.
   */
  public static SimulatedTdxPlatform fromSecret(byte[] secret) throws GeneralSecurityException {
    byte[] d = MessageDigest.getInstance("SHA-256").digest(secret);
    return new SimulatedTdxPlatform(ByteBuffer.wrap(d).getLong() ^ 0x7464780000000000L);
  }

  /** This double's root, as a party's development configuration pins it instead of Intel's. */
  public X509Certificate root() {
    return root;
  }

  /**
   * A DCAP v4 quote of a TD measured {@code mrTd} (48 bytes), launched with {@code mrConfigId} (48 bytes), binding
   * {@code reportData} (64 bytes), with TDX module SVN {@value #MODULE_SVN_UP_TO_DATE} (UpToDate), not debug.
   */
  public byte[] quote(byte[] reportData, byte[] mrTd, byte[] mrConfigId) throws GeneralSecurityException {
    return quote(reportData, mrTd, mrConfigId, MODULE_SVN_UP_TO_DATE, false);
  }

  /** Same, with the TDX module SVN (below {@value #MODULE_SVN_UP_TO_DATE}: OutOfDate) and TD attribute DEBUG. */
  public byte[] quote(byte[] reportData, byte[] mrTd, byte[] mrConfigId, int moduleSvn, boolean debug)
      throws GeneralSecurityException {
    require(reportData, 64, "report data");
    require(mrTd, 48, "MRTD");
    require(mrConfigId, 48, "MRCONFIGID");
    ByteBuffer signed = ByteBuffer.allocate(TdxQuote.HEADER + TdxQuote.TD_REPORT_10).order(ByteOrder.LITTLE_ENDIAN);
    signed.putShort(0, (short) 4);
    signed.putShort(2, (short) 2);
    signed.putInt(4, 0x81);
    signed.put(12, HexFormat.of().parseHex("939a7233f79c4ca9940a0db3957f0607")); // Intel's QE vendor id
    int b = TdxQuote.HEADER;
    signed.put(b, (byte) moduleSvn); // TEE_TCB_SVN[0]: module SVN; [1] = 0: the TCB info's single tdxModule
    // MRSEAM and MRSIGNERSEAM (zero, as Intel's module identity says), SEAM attributes 0
    signed.put(b + 120, (byte) (debug ? 1 : 0));
    signed.put(b + 128, (byte) 0xe7); // XFAM
    signed.put(b + 136, mrTd);
    signed.put(b + 184, mrConfigId);
    for (int i = 0; i < 4; i++) {
      signed.put(b + 328 + 48 * i, RTMRS[i]);
    }
    signed.put(b + 520, reportData);
    byte[] head = signed.array();

    byte[] attestationKey = rawPoint((ECPublicKey) attestationKeys.getPublic());
    byte[] auth = new byte[32];
    byte[] qeReport = new byte[TdxQuote.QE_REPORT];
    ByteBuffer qe = ByteBuffer.wrap(qeReport).order(ByteOrder.LITTLE_ENDIAN);
    qe.put(48, (byte) 0x11); // attributes: INIT | MODE64BIT
    System.arraycopy(QE_MRSIGNER, 0, qeReport, 128, 32);
    qe.putShort(256, (short) 2); // TD QE ISVPRODID
    qe.putShort(258, (short) 4); // ISVSVN
    byte[] binding = MessageDigest.getInstance("SHA-256").digest(concat(attestationKey, auth));
    System.arraycopy(binding, 0, qeReport, 320, 32);
    byte[] pem = Pem.certificatesToPem(List.of(pck, pckCa, root))
        .getBytes(StandardCharsets.US_ASCII);
    byte[] pemPadded = Arrays.copyOf(pem, pem.length + 1); // generators end the chain with a NUL

    int certData = TdxQuote.QE_REPORT + 64 + 2 + auth.length + 6 + pemPadded.length;
    int sigData = 64 + 64 + 6 + certData;
    ByteBuffer q = ByteBuffer.allocate(head.length + 4 + sigData).order(ByteOrder.LITTLE_ENDIAN);
    q.put(head);
    q.putInt(sigData);
    q.put(rawSign(attestationKeys.getPrivate(), head));
    q.put(attestationKey);
    q.putShort((short) 6);
    q.putInt(certData);
    q.put(qeReport);
    q.put(rawSign(pckKeys.getPrivate(), qeReport));
    q.putShort((short) auth.length);
    q.put(auth);
    q.putShort((short) 5);
    q.putInt(pemPadded.length);
    q.put(pemPadded);
    return q.array();
  }

  // The host's side of the double (Intel's PCS: TCB info, QE identity, CRLs) is SimulatedIntelPcs: the enclave runs
  // this class (it signs its own quotes) and its image carries no collateral code.

  X509Certificate pckCa() {
    return pckCa;
  }

  X509Certificate tcbSigning() {
    return tcbSigning;
  }

  KeyPair rootKeys() {
    return rootKeys;
  }

  KeyPair caKeys() {
    return caKeys;
  }

  KeyPair tcbSigningKeys() {
    return tcbSigningKeys;
  }

  static byte[] qeMrSigner() {
    return QE_MRSIGNER.clone();
  }

  private X509Certificate cert(String subject, X509Certificate issuer, PublicKey key, PrivateKey signer, boolean ca)
      throws GeneralSecurityException {
    return cert(subject, null, key, signer, ca, issuer);
  }

  private X509Certificate cert(String subject, String selfIssuer, PublicKey key, PrivateKey signer, boolean ca,
      X509Certificate issuer) throws GeneralSecurityException {
    X500Name issuerName = issuer == null ? new X500Name("CN=" + selfIssuer + ",O=Cloister test double")
        : X500Name.getInstance(issuer.getSubjectX500Principal().getEncoded());
    try {
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuerName,
          BigInteger.valueOf(random.nextInt(1 << 30)), Date.from(NOT_BEFORE), Date.from(NOT_AFTER),
          new X500Name("CN=" + subject + ",O=Cloister test double"), key);
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
      if (subject.equals("Intel SGX PCK Certificate")) {
        b.addExtension(new ASN1ObjectIdentifier(SGX), false, sgxExtension());
      }
      ContentSigner s = new JcaContentSignerBuilder("SHA256withECDSA").setSecureRandom(random).build(signer);
      return new JcaX509CertificateConverter().getCertificate(b.build(s));
    } catch (IOException | OperatorCreationException e) {
      throw new GeneralSecurityException("cannot build the TDX test double's certificate " + subject, e);
    }
  }

  /** PCK TCB: 16 CPU SVN components of 2, PCE SVN 11; PCE-ID 0000; FMSPC {@value #FMSPC}. */
  private static DERSequence sgxExtension() {
    ASN1EncodableVector tcb = new ASN1EncodableVector();
    for (int i = 1; i <= 17; i++) {
      tcb.add(new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {
          new ASN1ObjectIdentifier(SGX + ".2." + i), new ASN1Integer(i == 17 ? 11 : 2)}));
    }
    tcb.add(new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {
        new ASN1ObjectIdentifier(SGX + ".2.18"), new DEROctetString(new byte[16])}));
    ASN1EncodableVector all = new ASN1EncodableVector();
    all.add(entry(SGX + ".1", new DEROctetString(new byte[16])));
    all.add(entry(SGX + ".2", new DERSequence(tcb)));
    all.add(entry(SGX + ".3", new DEROctetString(new byte[2])));
    all.add(entry(SGX + ".4", new DEROctetString(HexFormat.of().parseHex(FMSPC))));
    return new DERSequence(all);
  }

  private static DERSequence entry(String oid, org.bouncycastle.asn1.ASN1Encodable value) {
    return new DERSequence(new org.bouncycastle.asn1.ASN1Encodable[] {new ASN1ObjectIdentifier(oid), value});
  }

  static byte[] rawSign(PrivateKey key, byte[] data) throws GeneralSecurityException {
    Signature s = Signature.getInstance("SHA256withECDSA");
    s.initSign(key);
    s.update(data);
    ASN1Sequence der = ASN1Sequence.getInstance(s.sign());
    byte[] raw = new byte[64];
    fixed(ASN1Integer.getInstance(der.getObjectAt(0)).getValue(), raw, 0);
    fixed(ASN1Integer.getInstance(der.getObjectAt(1)).getValue(), raw, 32);
    return raw;
  }

  private static void fixed(BigInteger v, byte[] out, int off) {
    byte[] be = v.toByteArray();
    int n = Math.min(be.length, 32);
    System.arraycopy(be, be.length - n, out, off + 32 - n, n);
  }

  private static byte[] rawPoint(ECPublicKey k) {
    byte[] out = new byte[64];
    fixed(k.getW().getAffineX(), out, 0);
    fixed(k.getW().getAffineY(), out, 32);
    return out;
  }

  private KeyPair p256() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), random);
    return g.generateKeyPair();
  }

  private static void require(byte[] b, int length, String what) {
    if (b == null || b.length != length) {
      throw new IllegalArgumentException(what + " is " + length + " bytes, got " + (b == null ? "none" : b.length));
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }
}
