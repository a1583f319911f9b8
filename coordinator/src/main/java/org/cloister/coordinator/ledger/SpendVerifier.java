package org.cloister.coordinator.ledger;

import com.google.protobuf.InvalidProtocolBufferException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import org.cloister.coordinator.rounds.RequestRejectedException;
import org.cloister.protocol.v1.PrivacySpend;
import org.cloister.protocol.v1.SignedSpend;
import org.cloister.protocol.v1.UpdateEnvelope;
import org.cloister.trust.ledger.SpendSignatures;

/**
 * Checks the signed privacy spend that comes with an update: it must be signed by the key of the
 * very certificate the site connected with, and name this study, this round and this site.
 */
public final class SpendVerifier {
  private SpendVerifier() {
  }

  public static LedgerRecord verify(String siteId, X509Certificate signer, UpdateEnvelope env) {
    if (!env.hasSpend()) {
      throw reject("update carries no signed privacy spend; this study keeps a privacy ledger");
    }
    if (signer == null) {
      throw reject("signed spends need a client certificate (mTLS) to verify against");
    }
    SignedSpend ss = env.getSpend();
    byte[] bytes = ss.getSpend().toByteArray();
    PrivacySpend p;
    try {
      p = PrivacySpend.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw reject("privacy spend is not a valid PrivacySpend message");
    }
    if (!p.getStudyId().equals(env.getStudyId()) || !p.getRoundId().equals(env.getRoundId())
        || p.getRound() != env.getRound() || !p.getPartyId().equals(siteId)) {
      throw reject("privacy spend names study " + p.getStudyId() + ", round " + p.getRound() + ", party " + p.getPartyId()
          + " but the update is from " + siteId + " for round " + env.getRound());
    }
    if (p.getEventJson().isBlank() || !(p.getDelta() > 0 && p.getDelta() < 1) || Double.isNaN(p.getEpsilonAfter())) {
      throw reject("privacy spend has no event, a delta outside (0,1) or a NaN epsilon");
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

  private static RequestRejectedException reject(String msg) {
    return new RequestRejectedException(RequestRejectedException.Kind.INVALID_ARGUMENT, "bad_spend", msg);
  }
}
