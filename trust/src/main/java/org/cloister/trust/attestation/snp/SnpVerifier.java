package org.cloister.trust.attestation.snp;

import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.ASN1Integer;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.CertificateChecks;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.trust.attestation.ExpectedValues;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.VerifiedEvidence;

/**
 * Verifies an AMD SEV-SNP attestation report offline: the VCEK (or VLEK) from the collateral, its ASK (or ASVK)
 * and the ARK pinned per product ({@link AmdProduct}); validity of each certificate at the policy instant; the
 * report's ECDSA P-384 signature (AMD's little-endian r and s); the VCEK's TCB extensions against the reported
 * TCB and its hwID against CHIP_ID; guest policy (debug refused unless allowed, migration agent refused); the
 * policy's expected {@code measurement}, {@code host_data} and {@code report_data}.
 */
public final class SnpVerifier implements EvidenceVerifier {
  private static final String AMD_OID = "1.3.6.1.4.1.3704.1.";
  private static final Set<String> NAMES = Set.of("measurement", "host_data", "report_data");

  private final Map<AmdProduct, X509Certificate> arks;

  /** A verifier anchored in the ARKs pinned in this module. */
  public SnpVerifier() {
    this(pinned());
  }

  /** A verifier anchored in {@code arks}: for tests with a test double of AMD's key hierarchy only. */
  SnpVerifier(Map<AmdProduct, X509Certificate> arks) {
    this.arks = Map.copyOf(arks);
  }

  private static void checkFloor(SnpReport report, AmdProduct product, EvidencePolicy.TcbFloor floor)
      throws AttestationException {
    if (floor.maxVmpl() >= 0 && report.vmpl() > floor.maxVmpl()) {
      throw new AttestationException(FailureReason.POLICY_VIOLATION, "the report was requested at VMPL "
          + report.vmpl() + "; the policy admits at most VMPL " + floor.maxVmpl()
          + " (software at a more privileged VMPL can read the guest)");
    }
    SnpReport.Tcb t = SnpReport.Tcb.decode(report.reportedTcb(), product.turinLayout());
    Map<String, Integer> svn = new LinkedHashMap<>();
    svn.put("bootloader", t.bootloader());
    svn.put("tee", t.tee());
    svn.put("snp", t.snp());
    svn.put("microcode", t.microcode());
    if (product.turinLayout()) {
      svn.put("fmc", t.fmc());
    }
    for (Map.Entry<String, Integer> min : floor.minSnpTcb().entrySet()) {
      Integer have = svn.get(min.getKey());
      if (have == null) {
        throw new AttestationException(FailureReason.TCB_NOT_ACCEPTED, "the policy sets a minimum " + min.getKey()
            + " SVN but " + product.displayName() + " reports have no such TCB component");
      }
      if (have < min.getValue()) {
        throw new AttestationException(FailureReason.TCB_NOT_ACCEPTED, "the reported TCB's " + min.getKey()
            + " SVN is " + have + ", below the policy's minimum " + min.getValue()
            + " (firmware older than the consortium accepts)");
      }
    }
  }

  /**
   * DEVELOPMENT ONLY: a verifier anchored in the root of {@link SimulatedSnpPlatform} (its ARK-Turin) instead of
   * AMD's, for a party whose enclave runs on that test double. Its reports prove nothing about isolation.
   *
   * @throws IllegalArgumentException when {@code ark} is one of AMD's pinned roots (use {@link #SnpVerifier()})
   */
  public static SnpVerifier development(X509Certificate ark) {
    for (AmdProduct p : AmdProduct.values()) {
      if (p.ark().equals(ark)) {
        throw new IllegalArgumentException("the development root given is AMD's " + p.displayName()
            + " ARK: use the pinned roots");
      }
    }
    return new SnpVerifier(Map.of(AmdProduct.TURIN, ark));
  }

  private static Map<AmdProduct, X509Certificate> pinned() {
    Map<AmdProduct, X509Certificate> m = new java.util.EnumMap<>(AmdProduct.class);
    for (AmdProduct p : AmdProduct.values()) {
      m.put(p, p.ark());
    }
    return m;
  }

  /**
   * The AMD KDS path of the VCEK that signed {@code report} ({@code vcek/v1/PRODUCT/HWID?blSPL=..}), reading the
   * product from the report's CPUID (version 3 and later) or {@code productHint} (version 2 carries none).
   * Nothing is verified here; the fetched folder is verified afterwards.
   */
  public static String vcekKdsPath(byte[] report, AmdProduct productHint) throws AttestationException {
    SnpReport r = SnpReport.parse(report);
    if (r.signingKey() != SnpReport.SIGNING_KEY_VCEK) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL, "the report is signed by a VLEK: its "
          + "certificate comes from the cloud provider, not from AMD's KDS");
    }
    AmdProduct product = AmdProduct.fromCpuid(r.cpuidFamily(), r.cpuidModel());
    if (product == null) {
      product = productHint;
    }
    if (product == null) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL, "the report (version " + r.version()
          + ") does not name its product; give it (Milan, Genoa, Turin)");
    }
    if (r.chipIdMasked()) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL, "the report masks its CHIP_ID: its VCEK cannot "
          + "be looked up");
    }
    SnpReport.Tcb t = SnpReport.Tcb.decode(r.reportedTcb(), product.turinLayout());
    byte[] chip = product.turinLayout() ? Arrays.copyOf(r.chipId(), 8) : r.chipId();
    return "vcek/v1/" + product.displayName() + "/" + HexFormat.of().formatHex(chip) + "?"
        + (product.turinLayout() ? "fmcSPL=" + t.fmc() + "&" : "") + "blSPL=" + t.bootloader() + "&teeSPL=" + t.tee()
        + "&snpSPL=" + t.snp() + "&ucodeSPL=" + t.microcode();
  }

  /** The product a report names by CPUID (version 3 and later), if any. */
  public static Optional<AmdProduct> productOf(byte[] report) throws AttestationException {
    SnpReport r = SnpReport.parse(report);
    return Optional.ofNullable(AmdProduct.fromCpuid(r.cpuidFamily(), r.cpuidModel()));
  }

  @Override
  public TeePlatform platform() {
    return TeePlatform.SEV_SNP;
  }

  @Override
  public Set<String> expectableNames() {
    return NAMES;
  }

  @Override
  public VerifiedEvidence verify(byte[] evidence, Collateral collateral, EvidencePolicy policy)
      throws AttestationException {
    SnpReport report = SnpReport.parse(evidence);
    boolean vlek = report.signingKey() == SnpReport.SIGNING_KEY_VLEK;
    String leafName = vlek ? "VLEK" : "VCEK";
    String intermediateName = vlek ? "ASVK" : "ASK";

    // Roots in the collateral must be the pinned ones; a foreign self-signed certificate is refused outright.
    List<X509Certificate> leaves = new ArrayList<>();
    List<X509Certificate> intermediates = new ArrayList<>();
    for (X509Certificate c : collateral.certificates()) {
      if (c.getSubjectX500Principal().equals(c.getIssuerX500Principal())
          && CertificateChecks.isSignedBy(c, c.getPublicKey())) {
        if (pinnedProductOf(c).isEmpty()) {
          throw new AttestationException(FailureReason.UNTRUSTED_ROOT, "root certificate '"
              + cn(c.getSubjectX500Principal()) + "' in the collateral is not a pinned AMD ARK");
        }
      } else if (cn(c.getSubjectX500Principal()).equals("SEV-" + leafName)) {
        leaves.add(c);
      } else {
        intermediates.add(c);
      }
    }
    if (leaves.isEmpty()) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL,
          "the report is signed by a " + leafName + " but the collateral holds no " + leafName + " certificate");
    }

    AttestationException firstFailure = null;
    for (X509Certificate leaf : leaves) {
      try {
        return verifyWith(report, leaf, intermediates, vlek, leafName, intermediateName, collateral, policy);
      } catch (AttestationException e) {
        if (firstFailure == null) {
          firstFailure = e;
        }
      }
    }
    throw firstFailure;
  }

  private VerifiedEvidence verifyWith(SnpReport report, X509Certificate leaf, List<X509Certificate> intermediates,
      boolean vlek, String leafName, String intermediateName, Collateral collateral, EvidencePolicy policy)
      throws AttestationException {
    // leaf <- intermediate (ASK/ASVK) <- pinned ARK
    X509Certificate intermediate = null;
    AmdProduct product = null;
    for (X509Certificate c : intermediates) {
      if (!CertificateChecks.isSignedBy(leaf, c.getPublicKey())) {
        continue;
      }
      for (Map.Entry<AmdProduct, X509Certificate> ark : arks.entrySet()) {
        AmdProduct p = ark.getKey();
        if (CertificateChecks.isSignedBy(c, ark.getValue().getPublicKey())) {
          intermediate = c;
          product = p;
        }
      }
    }
    if (intermediate == null) {
      boolean anyIssuer = intermediates.stream().anyMatch(c -> CertificateChecks.isSignedBy(leaf, c.getPublicKey()));
      throw anyIssuer
          ? new AttestationException(FailureReason.UNTRUSTED_ROOT, "the " + intermediateName + " that signed the "
              + leafName + " is signed by no pinned AMD ARK (Milan, Genoa, Turin)")
          : new AttestationException(FailureReason.MISSING_COLLATERAL, "the collateral holds no " + intermediateName
              + " that signed the " + leafName + " (" + cn(leaf.getIssuerX500Principal()) + ")");
    }
    String interCn = cn(intermediate.getSubjectX500Principal());
    boolean isAsvk = interCn.startsWith("SEV-VLEK-");
    if (isAsvk != vlek) {
      throw new AttestationException(FailureReason.UNTRUSTED_ROOT,
          "the " + leafName + " is certified by '" + interCn + "', not by an " + intermediateName);
    }
    checkAmdCrls(collateral, arks.get(product), intermediate, leaf, product, policy);
    CertificateChecks.checkValidity(arks.get(product), policy.instant(), "AMD ARK-" + product.displayName());
    CertificateChecks.checkValidity(intermediate, policy.instant(), intermediateName + " " + interCn);
    CertificateChecks.checkValidity(leaf, policy.instant(), leafName + " certificate");

    // The report signature: ECDSA P-384, SHA-384, r and s little-endian.
    byte[] der = CertificateChecks.derSignature(report.signatureR(), report.signatureS());
    if (!CertificateChecks.verifyEcdsa("SHA384withECDSA", leaf.getPublicKey(), report.signedBytes(), der)) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE,
          "the report's signature does not verify with the " + leafName + " (" + product.displayName() + ")");
    }

    checkProduct(report, leaf, product);
    checkTcb(report, leaf, product, leafName);
    if (!vlek && !report.chipIdMasked()) {
      byte[] hwId = hwId(leaf, product.turinLayout() ? 8 : 64);
      if (hwId == null) {
        throw new AttestationException(FailureReason.MALFORMED, "the VCEK has no hwID extension");
      }
      byte[] chip = report.chipId();
      byte[] reported = product.turinLayout() ? Arrays.copyOf(chip, 8) : chip;
      if (!MessageDigest.isEqual(hwId, reported)) {
        throw new AttestationException(FailureReason.TCB_MISMATCH,
            "the VCEK was issued for another chip (hwID differs from the report's CHIP_ID)");
      }
    }

    long guestPolicy = report.policy();
    boolean debug = (guestPolicy & SnpReport.POLICY_DEBUG) != 0;
    if (debug && !policy.allowDebug()) {
      throw new AttestationException(FailureReason.DEBUG_ENCLAVE,
          "the guest policy allows debugging (bit 19): the host can read the guest's memory");
    }
    if ((guestPolicy & SnpReport.POLICY_MIGRATE_MA) != 0) {
      throw new AttestationException(FailureReason.POLICY_VIOLATION,
          "the guest policy allows a migration agent (bit 18), which can export the guest's memory");
    }
    checkFloor(report, product, policy.tcbFloor());

    HexFormat hex = HexFormat.of();
    Map<String, String> measurements = new LinkedHashMap<>();
    measurements.put("measurement", hex.formatHex(report.measurement()));
    measurements.put("host_data", hex.formatHex(report.hostData()));
    Optional<byte[]> reportData = Optional.of(report.reportData());
    try {
      ExpectedValues.check(policy, NAMES, measurements, reportData, TeePlatform.SEV_SNP);
    } catch (IllegalArgumentException e) {
      throw new AttestationException(FailureReason.MEASUREMENT_MISMATCH, e.getMessage());
    }
    return new VerifiedEvidence(TeePlatform.SEV_SNP, measurements, reportData, Optional.empty(), debug,
        Optional.empty(), Optional.empty());
  }

  /**
   * AMD's KDS serves a CRL per product, signed by the ARK, listing revoked ASKs/ASVKs (and VCEKs/VLEKs). When the
   * collateral holds a CRL of this ARK it must verify, be current, and revoke neither certificate of the chain;
   * without one, revocation is not checked (docs/trust.md says so).
   */
  private static void checkAmdCrls(Collateral collateral, X509Certificate ark, X509Certificate intermediate,
      X509Certificate leaf, AmdProduct product, EvidencePolicy policy) throws AttestationException {
    for (java.security.cert.X509CRL crl : collateral.crls()) {
      if (!crl.getIssuerX500Principal().equals(ark.getSubjectX500Principal())) {
        continue;
      }
      CertificateChecks.checkCrl(crl, ark, policy.instant(), "the CRL of ARK-" + product.displayName());
      for (X509Certificate c : List.of(intermediate, leaf)) {
        if (crl.isRevoked(c)) {
          throw new AttestationException(FailureReason.REVOKED_CERTIFICATE,
              "'" + cn(c.getSubjectX500Principal()) + "' is revoked by ARK-" + product.displayName());
        }
      }
    }
  }

  private static void checkProduct(SnpReport report, X509Certificate leaf, AmdProduct product)
      throws AttestationException {
    String productName = string(leaf, "2");
    if (productName != null && !productName.equals(product.displayName())
        && !productName.startsWith(product.displayName() + "-")) {
      throw new AttestationException(FailureReason.UNTRUSTED_ROOT,
          "the certificate names product " + productName + " but chains to ARK-" + product.displayName());
    }
    AmdProduct fromCpuid = AmdProduct.fromCpuid(report.cpuidFamily(), report.cpuidModel());
    if (report.version() >= 3 && fromCpuid != null && fromCpuid != product) {
      throw new AttestationException(FailureReason.UNTRUSTED_ROOT, "the report's CPUID names "
          + fromCpuid.displayName() + " but its signing key chains to ARK-" + product.displayName());
    }
  }

  private static void checkTcb(SnpReport report, X509Certificate leaf, AmdProduct product, String leafName)
      throws AttestationException {
    SnpReport.Tcb reported = SnpReport.Tcb.decode(report.reportedTcb(), product.turinLayout());
    check(leaf, "3.1", "bootloader", reported.bootloader(), leafName);
    check(leaf, "3.2", "TEE", reported.tee(), leafName);
    check(leaf, "3.3", "SNP firmware", reported.snp(), leafName);
    check(leaf, "3.8", "microcode", reported.microcode(), leafName);
    if (product.turinLayout()) {
      check(leaf, "3.9", "FMC", reported.fmc(), leafName);
    }
  }

  private static void check(X509Certificate leaf, String oid, String what, int reported, String leafName)
      throws AttestationException {
    BigInteger certified = integer(leaf, oid);
    if (certified == null) {
      throw new AttestationException(FailureReason.MALFORMED,
          "the " + leafName + " has no " + what + " security patch level extension (" + AMD_OID + oid + ")");
    }
    if (certified.intValueExact() != reported) {
      throw new AttestationException(FailureReason.TCB_MISMATCH, "the report's reported TCB has " + what + " SPL "
          + reported + " but the " + leafName + " was issued for " + certified);
    }
  }

  private Optional<AmdProduct> pinnedProductOf(X509Certificate root) {
    for (Map.Entry<AmdProduct, X509Certificate> ark : arks.entrySet()) {
      try {
        if (Arrays.equals(ark.getValue().getEncoded(), root.getEncoded())) {
          return Optional.of(ark.getKey());
        }
      } catch (java.security.cert.CertificateEncodingException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  private static ASN1Primitive extension(X509Certificate c, String oid) throws AttestationException {
    byte[] v = c.getExtensionValue(AMD_OID + oid);
    if (v == null) {
      return null;
    }
    try {
      return JcaX509ExtensionUtils.parseExtensionValue(v);
    } catch (IOException | RuntimeException e) {
      throw new AttestationException(FailureReason.MALFORMED, "AMD extension " + AMD_OID + oid + " is not DER", e);
    }
  }

  private static BigInteger integer(X509Certificate c, String oid) throws AttestationException {
    ASN1Primitive p = extension(c, oid);
    if (p == null) {
      return null;
    }
    if (!(p instanceof ASN1Integer i)) {
      throw new AttestationException(FailureReason.MALFORMED, "AMD extension " + AMD_OID + oid + " is not an INTEGER");
    }
    return i.getValue();
  }

  private static String string(X509Certificate c, String oid) throws AttestationException {
    ASN1Primitive p = extension(c, oid);
    return p instanceof ASN1String s ? s.getString() : null;
  }

  /** The hwID: real VCEKs carry the raw chip id as extnValue; an OCTET STRING wrapping it is accepted too. */
  private static byte[] hwId(X509Certificate c, int size) throws AttestationException {
    byte[] v = c.getExtensionValue(AMD_OID + "4");
    if (v == null) {
      return null;
    }
    byte[] inner = ASN1OctetString.getInstance(v).getOctets();
    if (inner.length == size) {
      return inner;
    }
    try {
      if (ASN1Primitive.fromByteArray(inner) instanceof ASN1OctetString o && o.getOctets().length == size) {
        return o.getOctets();
      }
    } catch (IOException | RuntimeException e) {
      // reported below
    }
    throw new AttestationException(FailureReason.MALFORMED,
        "the VCEK's hwID extension is not " + size + " bytes of chip id");
  }

  private static String cn(X500Principal principal) {
    RDN[] rdns = X500Name.getInstance(principal.getEncoded()).getRDNs(BCStyle.CN);
    return rdns.length == 0 ? principal.getName() : IETFUtils.valueToString(rdns[0].getFirst().getValue());
  }
}
