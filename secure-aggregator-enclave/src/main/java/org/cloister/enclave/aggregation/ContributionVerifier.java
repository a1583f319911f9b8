package org.cloister.enclave.aggregation;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.io.ByteArrayInputStream;
import java.security.MessageDigest;
import org.cloister.trust.hpke.StreamBinding;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.cloister.aggregation.RejectReason;
import org.cloister.enclave.EnclaveConfig;
import org.cloister.protocol.FloatCodec;
import org.cloister.protocol.v1.ContributionStatement;
import org.cloister.protocol.v1.SealedUpdate;
import org.cloister.protocol.v1.SignedContribution;
import org.cloister.trust.ledger.SpendSignatures;
import org.cloister.trust.pki.CertificatePaths;

/**
 * Checks a site's signed contribution statement before the enclave looks at its payload: the
 * certificate chains to the consortium CA of the enclave's measured configuration, its common name
 * is a training member, the signature verifies, and the statement matches the round the enclave
 * opened (study, round, round id, this enclave instance's challenge, base model version and digest) and the
 * payload exactly as received (digest and format). The enclave takes the site's identity and its
 * weight from here and nowhere else. Reasons name what is wrong, never a value of the update.
 */
public final class ContributionVerifier {
  private static final Pattern CN = Pattern.compile("(?:^|,)\\s*CN=([A-Za-z0-9._-]{1,64})\\s*(?:,|$)");

  /** The round an update must belong to, as the enclave opened it. */
  public record OpenRound(String studyId, int round, String roundId, long baseModelVersion, byte[] challenge,
                          byte[] baseModelSha256) {
    public OpenRound {
      Objects.requireNonNull(studyId, "studyId");
      Objects.requireNonNull(roundId, "roundId");
      challenge = challenge.clone();
      baseModelSha256 = baseModelSha256 == null ? new byte[0] : baseModelSha256.clone();
    }

    /** A round whose base model digest is not known yet (empty). */
    public OpenRound(String studyId, int round, String roundId, long baseModelVersion, byte[] challenge) {
      this(studyId, round, roundId, baseModelVersion, challenge, new byte[0]);
    }

    @Override
    public byte[] challenge() {
      return challenge.clone();
    }

    /** SHA-256 of the base model's f32le weights; empty while not known. */
    @Override
    public byte[] baseModelSha256() {
      return baseModelSha256.clone();
    }

    /** This round with its base model digest pinned. */
    public OpenRound withBaseModelSha256(byte[] sha256) {
      return new OpenRound(studyId, round, roundId, baseModelVersion, challenge, sha256);
    }
  }

  /** A verified statement: who sent the update and with which weight. */
  public record Verified(String siteId, long weight, byte[] statementSha256) {
  }

  /** The update is refused; {@link #getMessage()} is the tagged reason. */
  public static final class Refused extends Exception {
    private static final long serialVersionUID = 1L;

    Refused(RejectReason reason, String detail) {
      super(reason.name().toLowerCase(Locale.ROOT) + ": " + detail, null, false, false);
    }
  }

  /** Certificates whose path to the CA was validated (by DER): a site's certificate is validated once per instance. */
  private final Map<ByteString, X509Certificate> validated = new ConcurrentHashMap<>();
  private final EnclaveConfig config;
  private final X509Certificate ca;
  private final Clock clock;

  /** The statement's certificate, its path to the consortium CA validated (and its validity now). */
  private X509Certificate validated(ByteString der) throws Refused {
    X509Certificate cert = validated.get(der);
    if (cert != null) {
      try {
        cert.checkValidity(java.util.Date.from(clock.instant()));
        return cert;
      } catch (java.security.cert.CertificateException e) {
        validated.remove(der);
      }
    }
    try {
      cert = (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der.toByteArray()));
    } catch (CertificateException | RuntimeException e) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the statement's certificate is not an X.509 certificate");
    }
    try {
      CertificatePaths.validate(List.of(cert), ca, clock.instant());
    } catch (CertPathValidatorException | RuntimeException e) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the statement's certificate ("
          + cert.getSubjectX500Principal().getName() + ") is not valid under the consortium CA of the enclave's "
          + "configuration");
    }
    if (validated.size() < 4 * config.members().size() + 16) { // bounded: the host cannot grow it at will
      validated.put(der, cert);
    }
    return cert;
  }

  public ContributionVerifier(EnclaveConfig config, Clock clock) {
    this.config = config;
    this.ca = config.consortiumCa();
    this.clock = clock;
  }

  /**
   * @param payload the bytes of {@code u.getPayload()} (already copied by the caller)
   */
  public Verified verify(SealedUpdate u, byte[] payload, OpenRound round) throws Refused {
    return verify(u, payload, payload.length, round);
  }

  /**
   * @param payload the bytes of {@code u.getPayload()} in {@code payload[0, length)} (copied by the caller,
   *     e.g. into a buffer it reuses)
   */
  public Verified verify(SealedUpdate u, byte[] payload, int length, OpenRound round) throws Refused {
    if (!u.hasContribution() || u.getContribution().getStatement().isEmpty()) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the update carries no contribution statement signed by a site");
    }
    SignedContribution sc = u.getContribution();
    X509Certificate cert = validated(sc.getCertificate());
    Matcher m = CN.matcher(cert.getSubjectX500Principal().getName());
    if (!m.find()) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the statement's certificate has no usable common name");
    }
    String signer = m.group(1);
    if (!SpendSignatures.verify(sc.getStatement().toByteArray(), sc.getSignature().toByteArray(), cert)) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the contribution statement's signature does not verify with "
          + signer + "'s certificate");
    }
    ContributionStatement s;
    try {
      s = ContributionStatement.parseFrom(sc.getStatement());
    } catch (InvalidProtocolBufferException e) {
      throw new Refused(RejectReason.MALFORMED, "the contribution statement signed by " + signer + " does not parse");
    }
    if (!signer.equals(s.getSiteId())) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the statement names site '" + s.getSiteId()
          + "' but is signed by " + signer);
    }
    EnclaveConfig.Member member = config.member(signer);
    if (member == null) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "site '" + signer
          + "' is not in the enclave's consortium configuration");
    }
    if (!member.trains()) {
      throw new Refused(RejectReason.NOT_A_TRAINING_SITE, signer + " is an " + member.role()
          + " of the consortium and never contributes updates");
    }
    if (!u.getSiteId().isEmpty() && !u.getSiteId().equals(signer)) {
      throw new Refused(RejectReason.UNAUTHENTICATED, "the host labelled the update '" + u.getSiteId()
          + "' but its statement is signed by " + signer);
    }
    if (!s.getStudyId().equals(round.studyId()) || s.getRound() != round.round()
        || !s.getRoundId().equals(round.roundId())) {
      throw new Refused(RejectReason.WRONG_ROUND, signer + "'s statement is for study '" + s.getStudyId() + "' round "
          + s.getRound() + " (id " + s.getRoundId() + "), not round " + round.round() + " (id " + round.roundId() + ")");
    }
    if (!MessageDigest.isEqual(s.getRoundChallenge().toByteArray(), round.challenge)) {
      throw new Refused(RejectReason.WRONG_CHALLENGE, signer + "'s statement does not carry this enclave's challenge "
          + "for round " + round.round() + " (replayed from another round or from before an enclave restart)");
    }
    if (s.getBaseModelVersion() != round.baseModelVersion()) {
      throw new Refused(RejectReason.WRONG_MODEL_VERSION, signer + " trained from model version "
          + s.getBaseModelVersion() + " but the round trains version " + round.baseModelVersion());
    }
    if (!MessageDigest.isEqual(s.getBaseModelSha256().toByteArray(), round.baseModelSha256)) {
      throw new Refused(RejectReason.WRONG_BASE_MODEL, signer + " trained from a base model with sha256 "
          + hex(s.getBaseModelSha256().toByteArray()) + " but the enclave aggregates round " + round.round()
          + " against " + hex(round.baseModelSha256) + " (the host handed it another model)");
    }
    if (!s.getPayloadFormat().equals(u.getPayloadFormat())) {
      throw new Refused(RejectReason.PAYLOAD_MISMATCH, "the payload format is not the one " + signer + " signed");
    }
    checkPayloadBinding(s, signer, payload, length);
    if (s.getSpendSha256().size() != 32) {
      throw new Refused(RejectReason.MALFORMED, signer + "'s statement binds no privacy spend");
    }
    long w = s.getNumExamples();
    if (w < 1 || w > (1L << 40)) {
      throw new Refused(RejectReason.BAD_WEIGHT, signer + " signed num_examples " + w + ", outside [1, 2^40]");
    }
    return new Verified(signer, w, FloatCodec.sha256(sc.getStatement().toByteArray()));
  }

  /**
   * The statement's binding of the sealed payload. Binding 0: the SHA-256 of the payload as sent. Binding 2
   * (streaming format only): {@link StreamBinding} over enc, length and the segments' tags; the payload's
   * segments are then authenticated by its decryption under the key enc fixes ({@code AggregationSession}),
   * on the same bytes, so a payload that passes both is the one the signer sealed (docs/trust.md).
   */
  private static void checkPayloadBinding(ContributionStatement s, String signer, byte[] payload, int length)
      throws Refused {
    byte[] expected;
    byte[] actual;
    switch (s.getPayloadBinding()) {
      case 0 -> {
        expected = s.getPayloadSha256().toByteArray();
        actual = FloatCodec.sha256(payload, 0, length);
      }
      case PAYLOAD_BINDING_STREAM -> {
        if (!AggregationSession.UPDATE_FORMAT.equals(s.getPayloadFormat()) || !s.getPayloadSha256().isEmpty()
            || s.getPayloadBindingSha256().size() != 32) {
          throw new Refused(RejectReason.MALFORMED, signer + "'s statement uses payload binding 2 with format '"
              + s.getPayloadFormat() + "', " + s.getPayloadSha256().size() + " bytes of payload_sha256 and "
              + s.getPayloadBindingSha256().size() + " of payload_binding_sha256 (needs " + AggregationSession.UPDATE_FORMAT
              + ", none and 32)");
        }
        expected = s.getPayloadBindingSha256().toByteArray();
        try {
          actual = StreamBinding.digest(payload, 0, length);
        } catch (IllegalArgumentException e) {
          throw new Refused(RejectReason.PAYLOAD_MISMATCH, "the sealed payload is not the one " + signer + " signed ("
              + e.getMessage() + ")");
        }
      }
      default -> throw new Refused(RejectReason.MALFORMED, signer + "'s statement uses payload binding "
          + s.getPayloadBinding() + ", which this enclave does not know (0 or 2)");
    }
    if (!MessageDigest.isEqual(expected, actual)) {
      throw new Refused(RejectReason.PAYLOAD_MISMATCH, "the sealed payload is not the one " + signer
          + " signed (altered or swapped by the host)");
    }
  }

  /** {@code ContributionStatement.payload_binding} of {@link StreamBinding}. */
  static final int PAYLOAD_BINDING_STREAM = 2;

  private static String hex(byte[] b) {
    return b.length == 0 ? "(none)" : java.util.HexFormat.of().formatHex(b);
  }
}
