package org.cloister.coordinator.ledger;

import com.google.protobuf.InvalidProtocolBufferException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Optional;
import org.cloister.coordinator.rounds.RequestRejectedException;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.trust.ledger.SpendSignatures;

/**
 * Checks a signed privacy spend in two steps. {@link #verifySigned} establishes that the spend is
 * real: signed by the key of the very certificate the site connected with, naming this site and
 * this study. Such a spend is recorded whatever then happens to its update. {@link #contentProblem}
 * then checks that it fits the update it came with (same round, a usable event and delta).
 */
public final class SpendVerifier {
  private SpendVerifier() {
  }

  /** Both steps at once: the record, or a rejection. */
  public static LedgerRecord verify(String siteId, X509Certificate signer, UpdateEnvelope env) {
    if (!env.hasSpend()) {
      throw reject("update carries no signed privacy spend; this study keeps a privacy ledger");
    }
    LedgerRecord r = verifySigned(siteId, signer, env.getSpend(), env.getStudyId());
    contentProblem(r, env).ifPresent(why -> {
      throw reject(why);
    });
    return r;
  }

  /**
   * The spend as a ledger record when its signature verifies with {@code signer} and it names
   * {@code siteId} and {@code studyId}.
   *
   * @throws RequestRejectedException (bad_spend) otherwise
   */
  public static LedgerRecord verifySigned(String siteId, X509Certificate signer, SignedSpend ss, String studyId) {
    if (ss.getSpend().isEmpty()) {
      throw reject("no signed privacy spend; this study keeps a privacy ledger");
    }
    if (signer == null) {
      throw reject("signed spends need a client certificate (mTLS) to verify against");
    }
    byte[] bytes = ss.getSpend().toByteArray();
    PrivacySpend p;
    try {
      p = PrivacySpend.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw reject("privacy spend is not a valid PrivacySpend message");
    }
    if (!p.getPartyId().equals(siteId) || !p.getStudyId().equals(studyId)) {
      throw reject("privacy spend names study " + p.getStudyId() + " and party " + p.getPartyId() + " but comes from "
          + siteId + " for study " + studyId);
    }
    if (!SpendSignatures.verify(bytes, ss.getSignature().toByteArray(), signer)) {
      throw reject("privacy spend signature does not verify with the site's certificate");
    }
    try {
      return new LedgerRecord(siteId, bytes, ss.getSignature().toByteArray(), signer.getEncoded(), p);
    } catch (CertificateEncodingException e) {
      throw reject("cannot encode the site's certificate");
    }
  }

  /** Why a genuinely signed spend does not fit its update, or empty when it does. */
  public static Optional<String> contentProblem(LedgerRecord r, UpdateEnvelope env) {
    PrivacySpend p = r.spend();
    if (!p.getRoundId().equals(env.getRoundId()) || p.getRound() != env.getRound()) {
      return Optional.of("privacy spend names round " + p.getRound() + " id " + p.getRoundId() + " but the update is for round "
          + env.getRound() + " id " + env.getRoundId());
    }
    if (p.getEventJson().isBlank() || !(p.getDelta() > 0 && p.getDelta() < 1) || Double.isNaN(p.getEpsilonAfter())) {
      return Optional.of("privacy spend has no event, a delta outside (0,1) or a NaN epsilon");
    }
    return Optional.empty();
  }

  private static RequestRejectedException reject(String msg) {
    return new RequestRejectedException(RequestRejectedException.Kind.INVALID_ARGUMENT, "bad_spend", msg);
  }
}
