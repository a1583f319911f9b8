package org.cloister.trust.attestation.tdx;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.cert.X509CRL;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.security.spec.ECPoint;
import java.security.spec.ECPublicKeySpec;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;
import org.cloister.trust.attestation.AttestationException;
import org.cloister.trust.attestation.CertificateChecks;
import org.cloister.trust.attestation.Collateral;
import org.cloister.trust.attestation.EvidencePolicy;
import org.cloister.trust.attestation.EvidenceVerifier;
import org.cloister.trust.attestation.ExpectedValues;
import org.cloister.trust.attestation.FailureReason;
import org.cloister.trust.attestation.TcbStatus;
import org.cloister.trust.attestation.TeePlatform;
import org.cloister.trust.attestation.VerifiedEvidence;
import org.cloister.trust.pki.Pem;

/**
 * Verifies an Intel TDX DCAP quote (v4, v5) offline, as Intel's quote verification library does: the PCK chain
 * carried in the quote to the pinned Intel SGX Root CA; the QE report's signature by the PCK and its report data
 * binding the attestation key; the quote's signature by that key; Intel's TCB info and QE identity (PCS v4 JSON,
 * signature over the raw bytes, signer chained to the root, within issueDate..nextUpdate); the CRLs of every CA
 * of the chains; the TCB level the platform matches (none is a refusal) combined with the TDX module identity and
 * the QE's level into one status with its advisories; TD attribute DEBUG; the policy's expected values.
 */
public final class TdxVerifier implements EvidenceVerifier {
  private static final Set<String> NAMES = Set.of("mr_td", "rtmr0", "rtmr1", "rtmr2", "rtmr3", "mr_config_id",
      "mr_owner", "mr_owner_config", "report_data");
  private static final String PCK_CN = "Intel SGX PCK Certificate";
  private static final String TCB_SIGNING_CN = "Intel SGX TCB Signing";

  private final X509Certificate root;

  /** A verifier anchored in the pinned {@link IntelSgxRoot}. */
  public TdxVerifier() {
    this(IntelSgxRoot.certificate());
  }

  /** A verifier anchored in {@code root}: for tests with a test double of Intel's PKI only. */
  TdxVerifier(X509Certificate root) {
    this.root = root;
  }

  /**
   * A verifier anchored in {@code root} instead of Intel's: DEVELOPMENT ONLY, for a party whose enclave runs on
   * the {@link SimulatedTdxPlatform} test double. Its quotes prove nothing about isolation.
   *
   * @throws IllegalArgumentException when {@code root} is Intel's pinned root (use {@link #TdxVerifier()})
   */
  public static TdxVerifier development(X509Certificate root) {
    if (IntelSgxRoot.certificate().equals(root)) {
      throw new IllegalArgumentException("the development root given is Intel's SGX Root CA: use the pinned root");
    }
    return new TdxVerifier(root);
  }

  /** What to fetch from Intel PCS for a quote: its FMSPC and the CA ("platform" or "processor") of its PCK. */
  public record PcsRequest(String fmspc, String pckCa) {}

  /**
   * Reads the FMSPC and PCK CA of {@code quote} (nothing is verified: the result only says which collateral to
   * fetch; verification happens on the fetched folder).
   */
  public static PcsRequest pcsRequest(byte[] quote) throws AttestationException {
    TdxQuote q = TdxQuote.parse(quote);
    List<X509Certificate> chain;
    try {
      chain = Pem.parseCertificates(q.pckChainText().getBytes(StandardCharsets.US_ASCII), "PCK chain");
    } catch (IOException e) {
      throw new AttestationException(FailureReason.MALFORMED, "the quote's PCK certificate chain: " + e.getMessage(), e);
    }
    String issuer = cn(chain.get(0).getIssuerX500Principal());
    String ca = issuer.contains("Processor") ? "processor" : issuer.contains("Platform") ? "platform" : null;
    if (ca == null) {
      throw new AttestationException(FailureReason.MALFORMED, "the PCK is issued by '" + issuer
          + "', neither the PCK Platform CA nor the PCK Processor CA");
    }
    return new PcsRequest(HexFormat.of().formatHex(PckExtensions.of(chain.get(0)).fmspc()).toUpperCase(Locale.ROOT), ca);
  }

  @Override
  public TeePlatform platform() {
    return TeePlatform.TDX;
  }

  @Override
  public Set<String> expectableNames() {
    return NAMES;
  }

  @Override
  public VerifiedEvidence verify(byte[] evidence, Collateral collateral, EvidencePolicy policy)
      throws AttestationException {
    Instant at = policy.instant();
    TdxQuote quote = TdxQuote.parse(evidence);

    List<X509Certificate> quoteChain;
    try {
      quoteChain = Pem.parseCertificates(quote.pckChainText().getBytes(StandardCharsets.US_ASCII), "PCK chain");
    } catch (IOException e) {
      throw new AttestationException(FailureReason.MALFORMED, "the quote's PCK certificate chain: " + e.getMessage(), e);
    }
    List<X509Certificate> pool = new ArrayList<>(quoteChain);
    pool.addAll(collateral.certificates());
    for (X509Certificate c : pool) {
      if (selfSigned(c) && !Arrays.equals(encoded(c), encoded(root))) {
        throw new AttestationException(FailureReason.UNTRUSTED_ROOT, "root certificate '" + cn(c.getSubjectX500Principal())
            + "' (in the quote or the collateral) is not the pinned Intel SGX Root CA");
      }
    }

    // 1. PCK chain, QE report signed by the PCK, QE report binding the attestation key, quote signed by it.
    X509Certificate pck = quoteChain.get(0);
    if (!PCK_CN.equals(cn(pck.getSubjectX500Principal())) || pck.getBasicConstraints() >= 0) {
      throw new AttestationException(FailureReason.UNTRUSTED_ROOT,
          "the first certificate of the quote's chain is not a PCK certificate: " + cn(pck.getSubjectX500Principal()));
    }
    chainToRoot(pck, pool, collateral.crls(), at, "PCK certificate");
    if (!CertificateChecks.verifyEcdsa("SHA256withECDSA", pck.getPublicKey(), quote.qeReport,
        CertificateChecks.derSignatureFromRaw(quote.qeReportSignature))) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE, "the QE report is not signed by the PCK");
    }
    byte[] expectedBinding = sha256(concat(quote.attestationKey, quote.qeAuthData));
    byte[] qeData = TdxQuote.qeReportData(quote.qeReport);
    if (!MessageDigest.isEqual(Arrays.copyOf(qeData, 32), expectedBinding)
        || !Arrays.equals(Arrays.copyOfRange(qeData, 32, 64), new byte[32])) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE,
          "the QE report does not bind the quote's attestation key (report data != SHA-256(key || auth data))");
    }
    if (!CertificateChecks.verifyEcdsa("SHA256withECDSA", p256(quote.attestationKey), quote.signed,
        CertificateChecks.derSignatureFromRaw(quote.signature))) {
      throw new AttestationException(FailureReason.BAD_SIGNATURE,
          "the quote's signature does not verify with its attestation key");
    }

    // 2. Intel's collateral: TCB info and QE identity, signed, current.
    PckExtensions ext = PckExtensions.of(pck);
    String fmspc = HexFormat.of().formatHex(ext.fmspc());
    SignedPcsJson tcbInfo = tcbInfoFor(collateral, fmspc);
    checkPcsDocument(tcbInfo, pool, collateral.crls(), at, "TCB info");
    SignedPcsJson qeIdentity = qeIdentity(collateral);
    checkPcsDocument(qeIdentity, pool, collateral.crls(), at, "QE identity");

    int minEval = policy.tcbFloor().minTcbEvaluationDataNumber();
    for (SignedPcsJson doc : List.of(tcbInfo, qeIdentity)) {
      int eval = doc.body().path("tcbEvaluationDataNumber").asInt(-1);
      if (minEval >= 0 && eval < minEval) {
        throw new AttestationException(FailureReason.TCB_NOT_ACCEPTED, doc.source() + " has tcbEvaluationDataNumber "
            + eval + ", below the policy's minimum " + minEval + " (Intel's older TCB evaluation: fetch collateral "
            + "with `cloister attest collateral`)");
      }
    }

    // 3. TCB status.
    PcsNode ti = tcbInfo.body();
    if (!"TDX".equals(ti.path("id").asText()) || ti.path("version").asInt() < 3) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL,
          tcbInfo.source() + " is not TDX TCB info (id TDX, version 3): the collateral is for SGX");
    }
    if (!ti.path("pceId").asText().equalsIgnoreCase(HexFormat.of().formatHex(ext.pceId()))) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL, tcbInfo.source() + " is for PCE-ID "
          + ti.path("pceId").asText() + ", the PCK for " + HexFormat.of().formatHex(ext.pceId()));
    }
    TcbStatus status = matchTcbLevel(ti, ext, quote);
    status = status.merge(moduleStatus(ti, quote));
    status = status.merge(qeStatus(qeIdentity.body(), quote.qeReport));
    if (TcbStatus.REVOKED.equals(status.status())) {
      throw new AttestationException(FailureReason.TCB_REVOKED, "Intel rates this platform's TCB Revoked"
          + advisories(status));
    }
    if (!status.upToDate() && !policy.acceptOutOfDate()) {
      throw new AttestationException(FailureReason.TCB_NOT_ACCEPTED, "Intel rates this platform's TCB "
          + status.status() + advisories(status) + "; only UpToDate is accepted (--accept-tcb out-of-date to tolerate it)");
    }

    // 4. The TD itself.
    if (quote.debug() && !policy.allowDebug()) {
      throw new AttestationException(FailureReason.DEBUG_ENCLAVE,
          "the TD attribute DEBUG (bit 0) is set: the host can read and change the TD's state");
    }
    HexFormat hex = HexFormat.of();
    Map<String, String> m = new LinkedHashMap<>();
    m.put("mr_td", hex.formatHex(quote.mrTd()));
    for (int i = 0; i < 4; i++) {
      m.put("rtmr" + i, hex.formatHex(quote.rtmr(i)));
    }
    m.put("mr_config_id", hex.formatHex(quote.mrConfigId()));
    m.put("mr_owner", hex.formatHex(quote.mrOwner()));
    m.put("mr_owner_config", hex.formatHex(quote.mrOwnerConfig()));
    Optional<byte[]> reportData = Optional.of(quote.reportData());
    try {
      ExpectedValues.check(policy, NAMES, m, reportData, TeePlatform.TDX);
    } catch (IllegalArgumentException e) {
      throw new AttestationException(FailureReason.MEASUREMENT_MISMATCH, e.getMessage());
    }
    return new VerifiedEvidence(TeePlatform.TDX, m, reportData, Optional.of(status), quote.debug(),
        Optional.empty(), Optional.empty());
  }

  private static String advisories(TcbStatus s) {
    return s.advisoryIds().isEmpty() ? "" : " (advisories " + String.join(", ", s.advisoryIds()) + ")";
  }

  private static SignedPcsJson tcbInfoFor(Collateral collateral, String fmspc) throws AttestationException {
    if (collateral.tcbInfos().isEmpty()) {
      throw new AttestationException(FailureReason.MISSING_COLLATERAL, "the collateral holds no Intel TCB info");
    }
    List<String> seen = new ArrayList<>();
    SignedPcsJson newest = null;
    for (Collateral.RawJson raw : collateral.tcbInfos()) {
      SignedPcsJson doc = SignedPcsJson.parse(raw, "tcbInfo");
      String f = doc.body().path("fmspc").asText();
      if (f.equalsIgnoreCase(fmspc)) {
        newest = newer(newest, doc);
      }
      seen.add(f);
    }
    if (newest != null) {
      return newest;
    }
    throw new AttestationException(FailureReason.MISSING_COLLATERAL,
        "the collateral holds no TCB info for FMSPC " + fmspc + " (only " + seen + ")");
  }

  private static SignedPcsJson qeIdentity(Collateral collateral) throws AttestationException {
    SignedPcsJson newest = null;
    for (Collateral.RawJson raw : collateral.qeIdentities()) {
      SignedPcsJson doc = SignedPcsJson.parse(raw, "enclaveIdentity");
      if ("TD_QE".equals(doc.body().path("id").asText())) {
        newest = newer(newest, doc);
      }
    }
    if (newest != null) {
      return newest;
    }
    throw new AttestationException(FailureReason.MISSING_COLLATERAL,
        "the collateral holds no TD quoting enclave identity (enclaveIdentity id TD_QE)");
  }

  /** Of two documents for the same thing, the one Intel issued later (by issueDate; an unparsable date loses). */
  private static SignedPcsJson newer(SignedPcsJson a, SignedPcsJson b) {
    if (a == null) {
      return b;
    }
    return a.body().path("issueDate").asText().compareTo(b.body().path("issueDate").asText()) >= 0 ? a : b;
  }

  private void checkPcsDocument(SignedPcsJson doc, List<X509Certificate> pool, List<X509CRL> crls, Instant at,
      String what) throws AttestationException {
    X509Certificate signer = null;
    byte[] der = CertificateChecks.derSignatureFromRaw(doc.rawSignature());
    for (X509Certificate c : pool) {
      if (TCB_SIGNING_CN.equals(cn(c.getSubjectX500Principal())) && c.getBasicConstraints() < 0
          && CertificateChecks.verifyEcdsa("SHA256withECDSA", c.getPublicKey(), doc.signedBytes(), der)) {
        signer = c;
        break;
      }
    }
    if (signer == null) {
      boolean anySigner = pool.stream().anyMatch(c -> TCB_SIGNING_CN.equals(cn(c.getSubjectX500Principal())));
      throw new AttestationException(anySigner ? FailureReason.BAD_SIGNATURE : FailureReason.MISSING_COLLATERAL,
          anySigner ? what + " (" + doc.source() + ") is not signed by an Intel SGX TCB Signing certificate of the"
              + " collateral (altered, or re-serialised JSON)"
              : "the collateral holds no Intel SGX TCB Signing certificate to check the " + what);
    }
    chainToRoot(signer, pool, crls, at, "TCB signing certificate");
    Instant issued = instant(doc, "issueDate");
    Instant next = instant(doc, "nextUpdate");
    if (issued.isAfter(at)) {
      throw new AttestationException(FailureReason.NOT_YET_VALID,
          what + " is issued only at " + issued + " (verifying at " + at + ")");
    }
    if (next.isBefore(at)) {
      throw new AttestationException(FailureReason.EXPIRED_COLLATERAL,
          what + " expired: its next update was due " + next + " (verifying at " + at + "); fetch fresh collateral");
    }
  }

  private static Instant instant(SignedPcsJson doc, String field) throws AttestationException {
    try {
      return Instant.parse(doc.body().path(field).asText());
    } catch (DateTimeParseException e) {
      throw new AttestationException(FailureReason.MALFORMED, doc.source() + ": " + field + " is not an instant", e);
    }
  }

  /** Builds leaf -> ... -> pinned root from {@code pool}; checks validity, CA flags and every CRL on the way. */
  private void chainToRoot(X509Certificate leaf, List<X509Certificate> pool, List<X509CRL> crls, Instant at,
      String what) throws AttestationException {
    List<X509Certificate> chain = new ArrayList<>(List.of(leaf));
    X509Certificate current = leaf;
    while (!(current.getIssuerX500Principal().equals(root.getSubjectX500Principal())
        && CertificateChecks.isSignedBy(current, root.getPublicKey()))) {
      X509Certificate issuer = null;
      for (X509Certificate c : pool) {
        if (!chain.contains(c) && !selfSigned(c) && c.getBasicConstraints() >= 0
            && c.getSubjectX500Principal().equals(current.getIssuerX500Principal())
            && CertificateChecks.isSignedBy(current, c.getPublicKey())) {
          issuer = c;
          break;
        }
      }
      if (issuer == null || chain.size() > 4) {
        throw new AttestationException(FailureReason.UNTRUSTED_ROOT, "the " + what + " ("
            + cn(leaf.getSubjectX500Principal()) + ") does not chain to the pinned Intel SGX Root CA");
      }
      chain.add(issuer);
      current = issuer;
    }
    chain.add(root);
    for (X509Certificate c : chain) {
      CertificateChecks.checkValidity(c, at, "certificate '" + cn(c.getSubjectX500Principal()) + "' of the " + what);
    }
    for (int i = 0; i + 1 < chain.size(); i++) {
      checkNotRevoked(chain.get(i), chain.get(i + 1), crls, at);
    }
  }

  private static void checkNotRevoked(X509Certificate cert, X509Certificate issuer, List<X509CRL> crls, Instant at)
      throws AttestationException {
    String issuerName = cn(issuer.getSubjectX500Principal());
    for (X509CRL crl : crls) {
      if (crl.getIssuerX500Principal().equals(issuer.getSubjectX500Principal())) {
        try {
          crl.verify(issuer.getPublicKey());
        } catch (GeneralSecurityException | RuntimeException e) {
          continue;
        }
        CertificateChecks.checkCrl(crl, issuer, at, "the CRL of " + issuerName);
        if (crl.isRevoked(cert)) {
          throw new AttestationException(FailureReason.REVOKED_CERTIFICATE, "certificate '"
              + cn(cert.getSubjectX500Principal()) + "' is revoked by " + issuerName);
        }
        return;
      }
    }
    throw new AttestationException(FailureReason.MISSING_COLLATERAL,
        "the collateral holds no CRL of " + issuerName + " (needed to check '" + cn(cert.getSubjectX500Principal())
            + "')");
  }

  /** The first TCB level (Intel lists them best first) that every SVN of the platform reaches. */
  private static TcbStatus matchTcbLevel(PcsNode ti, PckExtensions ext, TdxQuote quote) throws AttestationException {
    byte[] teeTcbSvn = quote.teeTcbSvn();
    for (PcsNode level : ti.path("tcbLevels")) {
      PcsNode tcb = level.path("tcb");
      PcsNode sgx = tcb.path("sgxtcbcomponents");
      PcsNode tdx = tcb.path("tdxtcbcomponents");
      if (sgx.size() != 16 || tdx.size() != 16) {
        throw new AttestationException(FailureReason.MALFORMED,
            "a TCB level has " + sgx.size() + " SGX and " + tdx.size() + " TDX components, not 16 each");
      }
      if (ext.pceSvn() < tcb.path("pcesvn").asInt(Integer.MAX_VALUE)) {
        continue;
      }
      boolean reached = true;
      for (int i = 0; i < 16 && reached; i++) {
        reached = ext.cpuSvnComponents()[i] >= sgx.get(i).path("svn").asInt(Integer.MAX_VALUE)
            && (teeTcbSvn[i] & 0xff) >= tdx.get(i).path("svn").asInt(Integer.MAX_VALUE);
      }
      if (reached) {
        return status(level);
      }
    }
    throw new AttestationException(FailureReason.NO_MATCHING_TCB_LEVEL,
        "the platform's TCB (CPU SVN, PCE SVN, TEE TCB SVN) reaches no TCB level of Intel's TCB info for FMSPC "
            + ti.path("fmspc").asText());
  }

  /** The TDX module: its signer and attributes must match Intel's identity; its SVN gives a status. */
  private static TcbStatus moduleStatus(PcsNode ti, TdxQuote quote) throws AttestationException {
    byte[] teeTcbSvn = quote.teeTcbSvn();
    int isvSvn = teeTcbSvn[0] & 0xff;
    int version = teeTcbSvn[1] & 0xff;
    PcsNode identity = ti.path("tdxModule");
    if (identity.isMissingNode()) {
      throw new AttestationException(FailureReason.MALFORMED, "TDX TCB info lacks tdxModule");
    }
    PcsNode levels = null;
    if (version > 0 && ti.path("tdxModuleIdentities").size() > 0) {
      String wanted = String.format(Locale.ROOT, "TDX_%02X", version);
      identity = null;
      for (PcsNode id : ti.path("tdxModuleIdentities")) {
        if (wanted.equalsIgnoreCase(id.path("id").asText())) {
          identity = id;
        }
      }
      if (identity == null) {
        throw new AttestationException(FailureReason.NO_MATCHING_TCB_LEVEL,
            "Intel's TCB info has no identity for TDX module " + wanted);
      }
      levels = identity.path("tcbLevels");
    }
    byte[] mrSigner = hex(identity, "mrsigner");
    byte[] attributes = hex(identity, "attributes");
    byte[] mask = hex(identity, "attributesMask");
    if (!MessageDigest.isEqual(mrSigner, quote.mrSignerSeam())) {
      throw new AttestationException(FailureReason.POLICY_VIOLATION,
          "the TDX module's signer (MRSIGNERSEAM) is not the one Intel's TCB info names");
    }
    byte[] seamAttributes = quote.seamAttributes();
    if (attributes.length != 8 || mask.length != 8) {
      throw new AttestationException(FailureReason.MALFORMED, "TDX module attributes are not 8 bytes");
    }
    for (int i = 0; i < 8; i++) {
      if ((seamAttributes[i] & mask[i]) != (attributes[i] & mask[i])) {
        throw new AttestationException(FailureReason.POLICY_VIOLATION,
            "the TDX module's SEAM attributes differ from Intel's TCB info");
      }
    }
    if (levels == null || levels.isEmpty()) {
      return new TcbStatus(TcbStatus.UP_TO_DATE, List.of());
    }
    for (PcsNode level : levels) {
      if (isvSvn >= level.path("tcb").path("isvsvn").asInt(Integer.MAX_VALUE)) {
        return status(level);
      }
    }
    throw new AttestationException(FailureReason.NO_MATCHING_TCB_LEVEL,
        "the TDX module's SVN " + isvSvn + " reaches no level of Intel's module identity");
  }

  /** The TD quoting enclave: identity from Intel's QE identity, SVN gives a status. */
  private static TcbStatus qeStatus(PcsNode qe, byte[] qeReport) throws AttestationException {
    if (!MessageDigest.isEqual(hex(qe, "mrsigner"), TdxQuote.qeMrSigner(qeReport))) {
      throw new AttestationException(FailureReason.POLICY_VIOLATION, "the quoting enclave's MRSIGNER is not Intel's");
    }
    if (qe.path("isvprodid").asInt(-1) != TdxQuote.qeIsvProdId(qeReport)) {
      throw new AttestationException(FailureReason.POLICY_VIOLATION, "the quoting enclave's ISVPRODID is not the TD QE's");
    }
    masked(hex(qe, "miscselect"), hex(qe, "miscselectMask"), TdxQuote.qeMiscSelect(qeReport), "MISCSELECT");
    masked(hex(qe, "attributes"), hex(qe, "attributesMask"), TdxQuote.qeAttributes(qeReport), "ATTRIBUTES");
    int svn = TdxQuote.qeIsvSvn(qeReport);
    for (PcsNode level : qe.path("tcbLevels")) {
      if (svn >= level.path("tcb").path("isvsvn").asInt(Integer.MAX_VALUE)) {
        return status(level);
      }
    }
    throw new AttestationException(FailureReason.NO_MATCHING_TCB_LEVEL,
        "the quoting enclave's ISVSVN " + svn + " reaches no level of Intel's QE identity");
  }

  private static void masked(byte[] expected, byte[] mask, byte[] actual, String what) throws AttestationException {
    if (expected.length != actual.length || mask.length != actual.length) {
      throw new AttestationException(FailureReason.MALFORMED, "QE identity " + what + " has the wrong length");
    }
    for (int i = 0; i < actual.length; i++) {
      if ((actual[i] & mask[i]) != (expected[i] & mask[i])) {
        throw new AttestationException(FailureReason.POLICY_VIOLATION,
            "the quoting enclave's " + what + " differ from Intel's QE identity");
      }
    }
  }

  private static TcbStatus status(PcsNode level) throws AttestationException {
    List<String> ids = new ArrayList<>();
    level.path("advisoryIDs").forEach(n -> ids.add(n.asText()));
    try {
      return new TcbStatus(level.path("tcbStatus").asText(), ids);
    } catch (IllegalArgumentException e) {
      throw new AttestationException(FailureReason.MALFORMED, "TCB level: " + e.getMessage(), e);
    }
  }

  private static byte[] hex(PcsNode node, String field) throws AttestationException {
    try {
      return HexFormat.of().parseHex(node.path(field).asText());
    } catch (IllegalArgumentException e) {
      throw new AttestationException(FailureReason.MALFORMED, field + " is not hexadecimal", e);
    }
  }

  private static PublicKey p256(byte[] xy) throws AttestationException {
    try {
      AlgorithmParameters params = AlgorithmParameters.getInstance("EC");
      params.init(new ECGenParameterSpec("secp256r1"));
      ECParameterSpec spec = params.getParameterSpec(ECParameterSpec.class);
      ECPoint w = new ECPoint(new BigInteger(1, Arrays.copyOf(xy, 32)), new BigInteger(1, Arrays.copyOfRange(xy, 32, 64)));
      return KeyFactory.getInstance("EC").generatePublic(new ECPublicKeySpec(w, spec));
    } catch (GeneralSecurityException | RuntimeException e) {
      throw new AttestationException(FailureReason.MALFORMED, "the attestation key is not a P-256 point", e);
    }
  }

  private static byte[] sha256(byte[] b) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(b);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] r = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, r, a.length, b.length);
    return r;
  }

  private static boolean selfSigned(X509Certificate c) {
    return c.getSubjectX500Principal().equals(c.getIssuerX500Principal())
        && CertificateChecks.isSignedBy(c, c.getPublicKey());
  }

  private static byte[] encoded(X509Certificate c) {
    try {
      return c.getEncoded();
    } catch (java.security.cert.CertificateEncodingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String cn(X500Principal principal) {
    try {
      RDN[] rdns = X500Name.getInstance(principal.getEncoded()).getRDNs(BCStyle.CN);
      return rdns.length == 0 ? principal.getName() : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    } catch (RuntimeException e) {
      // a name from the quote's chain that BouncyCastle cannot render (e.g. invalid UTF-8, found by
      // TdxEvidenceFuzzTest): only used in messages, so show the JDK's rendering instead
      return principal.getName();
    }
  }
}
